package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

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
