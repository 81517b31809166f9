package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A set of versions, as compatibility contracts write it: {@code 2.x} (every 2.anything), {@code >=
 * 2.0}, {@code >= 2.0, < 3} (every term must hold), {@code = 2.1.4} or just {@code 2.1.4} (the
 * version and its equivalents, {@link Versions#equivalent}), or {@code *} (any). Operators are
 * {@code >=}, {@code >}, {@code <=}, {@code <} and {@code =}; versions are ordered by {@link
 * Versions}. A wildcard {@code 2.1.x} (or {@code 2.1.*}) matches every version whose release starts
 * with {@code 2.1}, qualified ones ({@code 2.1.7-RC1}) included.
 *
 * <p>{@link #toString()} is the canonical text ({@code ">= 2.0, < 3"}), which signed documents
 * carry, so one range always gives the same bytes. Immutable.
 */
public final class VersionRange {
  /** Longest range text accepted. */
  public static final int MAX_LENGTH = 128;
  /** Most terms in one range. */
  public static final int MAX_TERMS = 8;

  private static final List<String> OPERATORS = List.of(">=", "<=", ">", "<", "=");

  private record Term(String operator, String version, List<String> prefix) {
    boolean contains(String candidate) {
      if (prefix != null) {
        List<String> release = Versions.releaseSegments(candidate);
        for (int i = 0; i < prefix.size(); i++) {
          if (Versions.compareSegment(i < release.size() ? release.get(i) : "0", prefix.get(i)) != 0) {
            return false;
          }
        }
        return true;
      }
      int c = Versions.compare(candidate, version);
      return switch (operator) {
        case ">=" -> c >= 0;
        case ">" -> c > 0;
        case "<=" -> c <= 0;
        case "<" -> c < 0;
        default -> c == 0;
      };
    }

    @Override
    public String toString() {
      return prefix != null ? version + ".x" : operator + " " + version;
    }
  }

  private final List<Term> terms;

  private VersionRange(List<Term> terms) {
    this.terms = List.copyOf(terms);
  }

  /** The range of every version. */
  public static VersionRange any() {
    return new VersionRange(List.of());
  }

  /**
   * Parses a range.
   *
   * @throws UpgradeException {@link ErrorCode#CONTRACT_INVALID} naming what is wrong and the syntax
   */
  public static VersionRange parse(String text) {
    if (text == null || text.isBlank()) {
      throw invalid(text, "it is empty");
    }
    if (text.length() > MAX_LENGTH) {
      throw invalid(text, "it is longer than " + MAX_LENGTH + " characters");
    }
    String trimmed = text.strip();
    if (trimmed.equals("*") || trimmed.equals("x")) {
      return any();
    }
    String[] parts = trimmed.split(",", -1);
    if (parts.length > MAX_TERMS) {
      throw invalid(text, "it has more than " + MAX_TERMS + " terms");
    }
    List<Term> terms = new ArrayList<>();
    for (String part : parts) {
      terms.add(term(text, part.strip()));
    }
    return new VersionRange(terms);
  }

  private static Term term(String text, String part) {
    if (part.isEmpty()) {
      throw invalid(text, "a term between commas is empty");
    }
    String operator = "=";
    boolean written = false;
    for (String op : OPERATORS) {
      if (part.startsWith(op)) {
        operator = op;
        written = true;
        part = part.substring(op.length()).strip();
        break;
      }
    }
    boolean wildcard = part.endsWith(".x") || part.endsWith(".*");
    String version = wildcard ? part.substring(0, part.length() - 2) : part;
    if (!Names.isVersion(version)) {
      throw invalid(text, Names.quote(part) + " is not a version");
    }
    if (wildcard) {
      if (written) {
        throw invalid(text, "a wildcard (" + Names.quote(part) + ") takes no operator");
      }
      if (version.contains("-") || version.contains("+")) {
        throw invalid(text, "a wildcard names release numbers only, e.g. 2.x or 2.1.x");
      }
      return new Term("=", version, Versions.releaseSegments(version));
    }
    return new Term(operator, version, null);
  }

  /** Whether {@code version} is in the range. */
  public boolean contains(String version) {
    Objects.requireNonNull(version, "version");
    for (Term t : terms) {
      if (!t.contains(version)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether no version can be in the range, as far as its terms show: a lower bound above an upper
   * bound ({@code >= 3, < 2}), or an exact version that another term excludes ({@code = 2.0, >= 3}).
   * (Wildcards are not compared with bounds; such a range is taken as possibly non-empty.)
   */
  public boolean empty() {
    for (Term t : terms) {
      if (t.prefix() == null && t.operator().equals("=")) {
        return !contains(t.version()); // the range holds that version's equivalents at most
      }
    }
    String low = null;
    boolean lowStrict = false;
    String high = null;
    boolean highStrict = false;
    for (Term t : terms) {
      if (t.prefix() != null) {
        continue;
      }
      boolean strict = t.operator().length() == 1;
      if (t.operator().startsWith(">")) {
        int c = low == null ? 1 : Versions.compare(t.version(), low);
        if (c > 0 || (c == 0 && strict)) {
          low = t.version();
          lowStrict = strict;
        }
      } else {
        int c = high == null ? -1 : Versions.compare(t.version(), high);
        if (c < 0 || (c == 0 && strict)) {
          high = t.version();
          highStrict = strict;
        }
      }
    }
    if (low == null || high == null) {
      return false;
    }
    int c = Versions.compare(low, high);
    return c > 0 || (c == 0 && (lowStrict || highStrict));
  }

  @Override
  public String toString() {
    if (terms.isEmpty()) {
      return "*";
    }
    StringBuilder out = new StringBuilder();
    for (Term t : terms) {
      out.append(out.length() == 0 ? "" : ", ").append(t);
    }
    return out.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VersionRange r && r.toString().equals(toString());
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  private static UpgradeException invalid(String text, String why) {
    return new UpgradeException(ErrorCode.CONTRACT_INVALID, "version range " + (text == null ? "(missing)"
        : Names.quote(text)) + " is invalid: " + why + ". Write a wildcard (2.x), bounds (>= 2.0, < 3), an exact"
        + " version (2.1.4) or * for any");
  }
}
