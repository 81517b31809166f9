package io.upgradekit.server.cli;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Durations as users type them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. */
final class Durations implements ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    String v = value.trim();
    try {
      if (v.endsWith("ms")) {
        return positive(Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2))), value);
      }
      if (v.endsWith("s")) {
        return positive(Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1))), value);
      }
      if (v.endsWith("m")) {
        return positive(Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1))), value);
      }
      if (v.endsWith("h")) {
        return positive(Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1))), value);
      }
    } catch (NumberFormatException | ArithmeticException e) {
      // fall through
    }
    throw new TypeConversionException("'" + value + "' is not a duration: use a number with ms, s, m or h,"
        + " e.g. 30s");
  }

  private static Duration positive(Duration d, String value) {
    if (d.isNegative() || d.isZero()) {
      throw new TypeConversionException("'" + value + "' must be longer than zero");
    }
    return d;
  }
}
