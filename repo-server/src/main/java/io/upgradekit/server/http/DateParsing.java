package io.upgradekit.server.http;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** HTTP dates (RFC 1123 form, the only one clients send today). */
final class DateParsing {
  private DateParsing() {}

  /** Milliseconds since the epoch, or -1 if the value is not an HTTP date. */
  static long parse(String value) {
    try {
      return ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      return -1;
    }
  }
}
