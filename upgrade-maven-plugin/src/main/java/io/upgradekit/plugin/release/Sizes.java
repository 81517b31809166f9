package io.upgradekit.plugin.release;

import java.util.Locale;

/** Human-readable sizes and ratios for summaries. */
public final class Sizes {
  private Sizes() {}

  /** "812 B", "12.3 KiB", "4.1 MiB". */
  public static String of(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    double value = bytes;
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }

  /** "1.23%" */
  public static String percent(double ratio) {
    return String.format(Locale.ROOT, ratio < 0.001 ? "%.3f%%" : "%.2f%%", ratio * 100);
  }
}
