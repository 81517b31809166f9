package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/** Reads {@code project.build.outputTimestamp} as Maven's reproducible-build plugins do. */
public final class BuildTimestamps {
  private BuildTimestamps() {}

  /**
   * @param value ISO-8601 with an offset ({@code 2026-11-22T00:00:00Z}) or seconds since the epoch;
   *     null, empty or a single character (Maven's convention for "not set") means none
   * @return the instant, truncated to seconds, or empty
   * @throws ConfigurationException CONFIG_INVALID for anything else
   */
  public static Optional<Instant> parse(String value) {
    if (value == null || value.length() < 2) {
      return Optional.empty();
    }
    try {
      if (value.chars().allMatch(Character::isDigit)) {
        return Optional.of(Instant.ofEpochSecond(Long.parseLong(value)));
      }
      return Optional.of(OffsetDateTime.parse(value).toInstant().truncatedTo(ChronoUnit.SECONDS));
    } catch (NumberFormatException | java.time.DateTimeException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "project.build.outputTimestamp '" + value
          + "' is neither ISO-8601 with an offset (2026-11-22T00:00:00Z) nor seconds since the epoch: fix"
          + " <project.build.outputTimestamp> in the pom", e);
    }
  }
}
