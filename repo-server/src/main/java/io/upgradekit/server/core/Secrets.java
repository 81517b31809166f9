package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Reads secrets (the publisher token, the node secret) from files, never from command-line values
 * that other users could read in {@code ps}.
 */
public final class Secrets {
  /** Shortest secret accepted: anything shorter can be guessed. */
  public static final int MIN_LENGTH = 16;
  private static final int MAX_LENGTH = 4096;

  private Secrets() {}

  /**
   * Reads a secret file: its content with surrounding white space (the trailing newline of {@code
   * echo}) removed.
   *
   * @param option the option that named the file, for the error message
   * @throws UpgradeException CONFIG_INVALID if the file is missing, empty, too short or too long
   */
  public static byte[] readFile(Path file, String option) {
    String text;
    try {
      if (Files.size(file) > MAX_LENGTH) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " is larger than "
            + MAX_LENGTH + " bytes; it should hold one secret line");
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file
          + " does not exist; create it, e.g. with 'openssl rand -base64 32 > " + file + "' (mode 0600)", e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " cannot be read: " + e.getMessage(), e);
    }
    return fromText(text, option + " " + file);
  }

  /**
   * Refuses a secret file that users other than its owner may read or write (a private key, the
   * operators' tokens): its content would be theirs. Nothing is checked where the file system has
   * no POSIX permissions.
   *
   * @param option the option that named the file, for the error message
   * @throws UpgradeException CONFIG_INVALID with the {@code chmod} that fixes it
   */
  public static void requireOwnerOnly(Path file, String option) {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException e) {
      return;
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " does not exist", e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " cannot be read: " + e.getMessage(), e);
    }
    for (PosixFilePermission p : Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE)) {
      if (permissions.contains(p)) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " may be read or written by"
            + " other users (mode " + java.nio.file.attribute.PosixFilePermissions.toString(permissions)
            + "); make it the server user's alone: chmod 600 " + file);
      }
    }
  }

  /**
   * Checks a secret given as text (e.g. from an environment variable).
   *
   * @param what names the source in error messages
   */
  public static byte[] fromText(String text, String what) {
    String secret = text.strip();
    if (secret.length() < MIN_LENGTH) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, what + " holds " + secret.length()
          + " characters; a secret needs at least " + MIN_LENGTH + " (use 'openssl rand -base64 32')");
    }
    return secret.getBytes(StandardCharsets.UTF_8);
  }
}
