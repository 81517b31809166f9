package io.upgradekit.schema.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The order of release versions, for compatibility contracts ({@code api 2.x requires cache >=
 * 2.0}). Versions are free-form names ({@link Names#VERSION_PATTERN}); this order is the one the
 * field uses for Maven and semantic versions:
 *
 * <ul>
 *   <li>a leading {@code v} or {@code V} before a digit is ignored ({@code v2} is {@code 2});
 *   <li>build metadata after {@code +} is ignored ({@code 2.0+build.7} is {@code 2.0});
 *   <li>the rest splits at its first {@code -} into a release ({@code 2.10.1}) and a qualifier
 *       ({@code RC1}); release segments (split at {@code .}) compare numerically, missing ones count
 *       as 0 ({@code 2} = {@code 2.0} = {@code 2.0.0}), a numeric segment is below a non-numeric
 *       one, and non-numeric ones compare without regard to case;
 *   <li>of two equal releases, one with a qualifier comes first ({@code 2.0-RC1 < 2.0}); qualifiers
 *       compare segment by segment (split at {@code .} and {@code -}) as release segments do.
 * </ul>
 *
 * <p>Comparison works on the text only, never allocates from it beyond its length (at most 63
 * characters), and is a total order consistent with {@link #equivalent}.
 */
public final class Versions {
  /** The order described above. */
  public static final Comparator<String> ORDER = Versions::compare;

  private Versions() {}

  /** Negative, zero or positive as {@code a} is below, equivalent to or above {@code b}. */
  public static int compare(String a, String b) {
    Parsed x = parse(a);
    Parsed y = parse(b);
    int c = compareSegments(x.release, y.release);
    if (c != 0) {
      return c;
    }
    if (x.qualifier.isEmpty() != y.qualifier.isEmpty()) {
      return x.qualifier.isEmpty() ? 1 : -1;
    }
    return compareSegments(x.qualifier, y.qualifier);
  }

  /** Whether two versions are the same in the order ({@code v2}, {@code 2.0}, {@code 2.0.0+b7}). */
  public static boolean equivalent(String a, String b) {
    return compare(a, b) == 0;
  }

  /** The release segments of a version ({@code v2.10.1-RC1} gives {@code 2, 10, 1}), for wildcards. */
  static List<String> releaseSegments(String version) {
    return parse(version).release;
  }

  private record Parsed(List<String> release, List<String> qualifier) {}

  private static Parsed parse(String version) {
    Names.requireVersion(version);
    String v = version;
    if (v.length() > 1 && (v.charAt(0) == 'v' || v.charAt(0) == 'V') && Character.isDigit(v.charAt(1))) {
      v = v.substring(1);
    }
    int plus = v.indexOf('+');
    if (plus >= 0) {
      v = v.substring(0, plus);
    }
    int dash = v.indexOf('-');
    String release = dash >= 0 ? v.substring(0, dash) : v;
    String qualifier = dash >= 0 ? v.substring(dash + 1) : "";
    return new Parsed(split(release, "\\."), split(qualifier, "[.-]"));
  }

  private static List<String> split(String text, String separators) {
    List<String> out = new ArrayList<>();
    if (text.isEmpty()) {
      return out;
    }
    for (String s : text.split(separators)) {
      if (!s.isEmpty()) {
        out.add(s.toLowerCase(Locale.ROOT));
      }
    }
    return out;
  }

  private static int compareSegments(List<String> a, List<String> b) {
    int n = Math.max(a.size(), b.size());
    for (int i = 0; i < n; i++) {
      int c = compareSegment(i < a.size() ? a.get(i) : "0", i < b.size() ? b.get(i) : "0");
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  static int compareSegment(String a, String b) {
    boolean na = numeric(a);
    boolean nb = numeric(b);
    if (na && nb) {
      String x = stripZeros(a);
      String y = stripZeros(b);
      return x.length() != y.length() ? Integer.compare(x.length(), y.length()) : x.compareTo(y);
    }
    if (na != nb) {
      return na ? -1 : 1;
    }
    return a.compareTo(b);
  }

  private static boolean numeric(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return !s.isEmpty();
  }

  private static String stripZeros(String s) {
    int i = 0;
    while (i < s.length() - 1 && s.charAt(i) == '0') {
      i++;
    }
    return s.substring(i);
  }
}
