package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;

/** Validation shared by the records' compact constructors; failures are METADATA_MALFORMED. */
final class Checks {
  private Checks() {}

  static <T> T required(T value, String field) {
    if (value == null) {
      throw malformed(field + " is missing");
    }
    return value;
  }

  static void type(String actual, DocumentType expected) {
    if (!expected.typeName().equals(actual)) {
      throw malformed("type is '" + actual + "', expected '" + expected.typeName() + "'");
    }
  }

  static String sha256(String value, String field) {
    if (!Hashes.isSha256Hex(value)) {
      throw malformed(field + " must be 64 lowercase hex digits");
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
