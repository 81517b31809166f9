package io.upgradekit.server.http;

/**
 * Parses a {@code Range} header for one byte range ({@code bytes=a-b}, {@code bytes=a-}, {@code
 * bytes=-n}). Several ranges, other units and malformed values are ignored (the whole file is
 * served, which RFC 9110 allows); a range entirely past the end is unsatisfiable (416).
 */
final class ByteRanges {
  /** Marker for a syntactically valid range that no byte of the file satisfies. */
  static final long[] UNSATISFIABLE = new long[0];

  private ByteRanges() {}

  /**
   * @return {first, last} (inclusive), {@link #UNSATISFIABLE}, or null to ignore the header
   */
  static long[] parse(String header, long size) {
    String value = header.trim();
    if (!value.regionMatches(true, 0, "bytes=", 0, 6)) {
      return null;
    }
    String spec = value.substring(6).trim();
    if (spec.indexOf(',') >= 0) {
      return null;
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    String from = spec.substring(0, dash).trim();
    String to = spec.substring(dash + 1).trim();
    try {
      if (from.isEmpty()) {
        if (to.isEmpty() || !digits(to)) {
          return null;
        }
        long suffix = Long.parseLong(to);
        if (suffix == 0 || size == 0) {
          return UNSATISFIABLE;
        }
        return new long[] {Math.max(0, size - suffix), size - 1};
      }
      if (!digits(from) || (!to.isEmpty() && !digits(to))) {
        return null;
      }
      long first = Long.parseLong(from);
      long last = to.isEmpty() ? size - 1 : Long.parseLong(to);
      if (first >= size) {
        return UNSATISFIABLE;
      }
      if (last < first) {
        return null;
      }
      return new long[] {first, Math.min(last, size - 1)};
    } catch (NumberFormatException e) {
      return null; // more digits than a long holds
    }
  }

  private static boolean digits(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return !s.isEmpty();
  }
}
