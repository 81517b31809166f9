package io.upgradekit.schema.api;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.util.regex.Pattern;

/** Validation shared by the API records' compact constructors; failures are METADATA_MALFORMED. */
final class Wire {
  /** An {@link ErrorCode} name, or a state or outcome name: as in feedback. */
  static final Pattern CODE = Pattern.compile("[A-Z][A-Z0-9_]{0,47}");

  /** Longest repository path an answer names (paths are built from names of 63 characters at most). */
  static final int MAX_PATH_LENGTH = 512;

  private Wire() {}

  static <T> T required(T value, String field) {
    if (value == null) {
      throw malformed(field + " is missing");
    }
    return value;
  }

  static long nonNegative(long value, String field) {
    if (value < 0) {
      throw malformed(field + " must not be negative, was " + value);
    }
    return value;
  }

  static long positive(long value, String field) {
    if (value < 1) {
      throw malformed(field + " must be at least 1, was " + value);
    }
    return value;
  }

  static String code(String value, String field) {
    if (value == null || !CODE.matcher(value).matches()) {
      throw malformed(field + " must be an upper-case code like NOT_FOUND");
    }
    return value;
  }

  /** A path inside the repository: relative, no {@code ..} segment, no control characters. */
  static String repositoryPath(String value, String field) {
    required(value, field);
    if (value.isEmpty() || value.length() > MAX_PATH_LENGTH || value.startsWith("/") || value.contains("\\")
        || ("/" + value + "/").contains("/../") || value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw malformed(field + " must be a relative path inside the repository");
    }
    return value;
  }

  static String text(String value, String field, int maxLength) {
    if (value != null && value.length() > maxLength) {
      throw malformed(field + " is longer than " + maxLength + " characters");
    }
    return value;
  }

  static UpgradeException malformed(String message) {
    return new UpgradeException(ErrorCode.METADATA_MALFORMED, message);
  }
}
