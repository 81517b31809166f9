package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Where the release key comes from: the {@code <keyFile>} a developer configured, or the {@code
 * UPGRADE_SIGNING_KEY} environment variable (PEM text of both blocks) that CI fills from a secret.
 * Never from a property, never into a log.
 */
public final class SigningKeys {
  /** The environment variable CI sets from a secret: the key file's PEM text. */
  public static final String ENVIRONMENT_VARIABLE = "UPGRADE_SIGNING_KEY";

  private SigningKeys() {}

  /**
   * Loads the release key. A configured key file that exists wins; a configured file that does not
   * exist falls back to the environment variable when that is set (so one pom serves developers with
   * a key file and CI with a secret); otherwise the error says how to get a key.
   *
   * @param keyFile the configured {@code <keyFile>}, or null
   * @param environmentValue the value of {@value #ENVIRONMENT_VARIABLE}, or null
   * @throws UpgradeException KEY_INVALID with the fix
   */
  public static SigningKey load(Path keyFile, String environmentValue, Consumer<Event> events) {
    boolean haveEnvironment = environmentValue != null && !environmentValue.isBlank();
    if (keyFile != null && (Files.exists(keyFile) || !haveEnvironment)) {
      return fromFile(keyFile, events);
    }
    if (haveEnvironment) {
      events.accept(Event.detail("signing key from the " + ENVIRONMENT_VARIABLE + " environment variable"));
      try {
        return SigningKey.fromPem(environmentValue);
      } catch (UpgradeException e) {
        throw new ConfigurationException(ErrorCode.KEY_INVALID, "the " + ENVIRONMENT_VARIABLE + " environment variable"
            + " does not hold a usable signing key (" + e.getMessage() + "): it must hold the whole key file"
            + " written by 'mvn upgrade:keygen', both the PRIVATE KEY and the PUBLIC KEY block", e);
      }
    }
    throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> is not set: run 'mvn upgrade:keygen"
        + " -Dupgrade.keyFile=PATH' and add <keyFile>PATH</keyFile>, or set " + ENVIRONMENT_VARIABLE);
  }

  private static SigningKey fromFile(Path keyFile, Consumer<Event> events) {
    String text;
    try {
      if (Files.size(keyFile) > 64 * 1024) {
        throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> " + keyFile + " is too large to be a key file");
      }
      text = Files.readString(keyFile, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> " + keyFile + " does not exist: run 'mvn"
          + " upgrade:keygen -Dupgrade.keyFile=" + keyFile + "' to create it, or set " + ENVIRONMENT_VARIABLE, e);
    } catch (IOException e) {
      throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> " + keyFile + " cannot be read: " + e, e);
    }
    warnIfReadableByOthers(keyFile, events);
    try {
      return SigningKey.fromPem(text);
    } catch (UpgradeException e) {
      throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> " + keyFile + " is not a signing key file ("
          + e.getMessage() + "); point <keyFile> at the private key file written by 'mvn upgrade:keygen' (not the"
          + " .pub file)", e);
    }
  }

  private static void warnIfReadableByOthers(Path keyFile, Consumer<Event> events) {
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(keyFile);
      if (permissions.contains(PosixFilePermission.GROUP_READ) || permissions.contains(PosixFilePermission.OTHERS_READ)) {
        events.accept(Event.warning("<keyFile> " + keyFile + " is readable by other users: chmod 600 " + keyFile));
      }
    } catch (UnsupportedOperationException | IOException e) {
      // Not a POSIX file system: nothing to check.
    }
  }
}
