package io.upgradekit.schema;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes and durations as users type them, one grammar for every program (repo-server's options,
 * the updater's YAML, the plugin's parameters), documented in docs/formats.md.
 *
 * <ul>
 *   <li>Size: a whole number with an optional unit, no sign. {@code B} or none: bytes; {@code k},
 *       {@code m}, {@code g}, {@code t} (either case) and {@code KiB}, {@code MiB}, {@code GiB},
 *       {@code TiB}: powers of 1024; {@code KB}, {@code MB}, {@code GB}, {@code TB}: powers of
 *       1000. Units are case-insensitive except that a single letter always means 1024s. A space
 *       between number and unit is allowed. Examples: {@code 1048576}, {@code 64m}, {@code 512 KiB},
 *       {@code 2GB}.
 *   <li>Duration: a whole number with a unit: {@code ms}, {@code s}, {@code m}, {@code h} or
 *       {@code d}, e.g. {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 7d}; no bare
 *       numbers (a bare {@code 30} could mean seconds or milliseconds).
 * </ul>
 *
 * <p>Parsers throw {@link IllegalArgumentException} with a sentence that shows the accepted forms;
 * callers wrap it with their own code (CONFIG_INVALID, a usage error) and the setting's name.
 */
public final class Quantities {
  private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s*([A-Za-z]{0,3})");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,19})\\s*(ms|s|m|h|d)");

  /** What a size looks like, for error messages. */
  public static final String SIZE_FORMS = "a whole number of bytes with an optional unit: k, m, g (or KiB, MiB, GiB:"
      + " 1024s) or KB, MB, GB (1000s), e.g. 64m or 512MB";

  /** What a duration looks like, for error messages. */
  public static final String DURATION_FORMS = "a whole number with a unit: ms, s, m, h or d, e.g. 500ms, 30s, 5m";

  private Quantities() {}

  /**
   * Parses a size in bytes (0 allowed; callers check their own lower bound).
   *
   * @throws IllegalArgumentException for anything else, saying what is accepted
   */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text == null ? "" : text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a size: write " + SIZE_FORMS);
    }
    long factor = sizeFactor(m.group(2));
    if (factor == 0) {
      throw new IllegalArgumentException("'" + text + "' has an unknown unit '" + m.group(2) + "': write "
          + SIZE_FORMS);
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is too large for a size");
    }
    if (n > Long.MAX_VALUE / factor) {
      throw new IllegalArgumentException("'" + text + "' is too large for a size");
    }
    return n * factor;
  }

  private static long sizeFactor(String unit) {
    if (unit.length() == 1 && !unit.equalsIgnoreCase("b")) {
      return switch (Character.toLowerCase(unit.charAt(0))) {
        case 'k' -> 1L << 10;
        case 'm' -> 1L << 20;
        case 'g' -> 1L << 30;
        case 't' -> 1L << 40;
        default -> 0;
      };
    }
    return switch (unit.toLowerCase(Locale.ROOT)) {
      case "", "b" -> 1;
      case "kib" -> 1L << 10;
      case "mib" -> 1L << 20;
      case "gib" -> 1L << 30;
      case "tib" -> 1L << 40;
      case "kb" -> 1000L;
      case "mb" -> 1000L * 1000;
      case "gb" -> 1000L * 1000 * 1000;
      case "tb" -> 1000L * 1000 * 1000 * 1000;
      default -> 0;
    };
  }

  /**
   * Parses a duration (zero allowed; callers check their own lower bound).
   *
   * @throws IllegalArgumentException for anything else, saying what is accepted
   */
  public static Duration parseDuration(String text) {
    Matcher m = DURATION.matcher(text == null ? "" : text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration: write " + DURATION_FORMS);
    }
    try {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("'" + text + "' is too long for a duration");
    }
  }

  /** A size the way this class parses it back, as short as exact: {@code 64m}, {@code 1500}. */
  public static String formatSize(long bytes) {
    String[] units = {"t", "g", "m", "k"};
    int[] shifts = {40, 30, 20, 10};
    for (int i = 0; i < units.length; i++) {
      if (bytes != 0 && bytes % (1L << shifts[i]) == 0) {
        return (bytes >> shifts[i]) + units[i];
      }
    }
    return Long.toString(bytes);
  }
}
