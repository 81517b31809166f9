package io.upgradekit.plugin;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;

/**
 * The one place where library failures become Maven's: what the user can fix (configuration,
 * keys, payloads, immutable versions, and repository content that fails verification) is a {@link
 * MojoFailureException} whose message carries the fix; environment failures (I/O, network, a
 * server's own failure or rate limit) are a
 * {@link MojoExecutionException}. Messages start with the error code, as in node feedback.
 * Configuration mistakes carry {@code CONFIG_INVALID}, the code the updater and repo-server use
 * for theirs, and fail the build like every code outside the environment's.
 */
final class MojoErrors {
  private MojoErrors() {}

  static Exception map(UpgradeException e) {
    String message = e.code() + ": " + e.getMessage();
    if (e instanceof ConfigurationException || !ENVIRONMENT.contains(e.code())) {
      return new MojoFailureException(message, e);
    }
    return new MojoExecutionException(message, e);
  }

  /** Failures of the machine, the network or the server, which a retry may cure. */
  private static final java.util.Set<ErrorCode> ENVIRONMENT =
      java.util.EnumSet.of(ErrorCode.IO_ERROR, ErrorCode.INTERNAL_ERROR, ErrorCode.RATE_LIMITED);

  /** Runs library code and rethrows its failures mapped. */
  static <T> T run(LibraryCall<T> call) throws MojoExecutionException, MojoFailureException {
    try {
      return call.run();
    } catch (UpgradeException e) {
      Exception mapped = map(e);
      if (mapped instanceof MojoFailureException failure) {
        throw failure;
      }
      throw (MojoExecutionException) mapped;
    }
  }

  @FunctionalInterface
  interface LibraryCall<T> {
    T run();
  }
}
