package io.upgradekit.schema;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * What each {@link ErrorCode} means and what to do about it, as documented in {@code
 * docs/error-codes.md}: one table, kept in this jar ({@code io/upgradekit/schema/error-codes.tsv})
 * so that every program can show the fix beside a code (the dashboard's node trail does). A test
 * keeps the table, the enum and the documentation equal.
 */
public final class ErrorCodeHelp {
  /**
   * One code's documentation.
   *
   * @param meaning what happened
   * @param fix what to do about it
   */
  public record Entry(String meaning, String fix) {
    public Entry {
      Objects.requireNonNull(meaning, "meaning");
      Objects.requireNonNull(fix, "fix");
    }
  }

  private static final Map<ErrorCode, Entry> ENTRIES = load();

  private ErrorCodeHelp() {}

  /** Every documented code. */
  public static Map<ErrorCode, Entry> all() {
    return ENTRIES;
  }

  /** The fix for a code name as found in feedback or an error body, or null for a code this release does not know. */
  public static String fix(String code) {
    Entry entry = entry(code);
    return entry == null ? null : entry.fix();
  }

  /** The documentation of a code name, or null for a code this release does not know. */
  public static Entry entry(String code) {
    if (code == null) {
      return null;
    }
    try {
      return ENTRIES.get(ErrorCode.valueOf(code));
    } catch (IllegalArgumentException e) {
      return null; // a newer program's code
    }
  }

  private static Map<ErrorCode, Entry> load() {
    Map<ErrorCode, Entry> entries = new EnumMap<>(ErrorCode.class);
    try (InputStream in = ErrorCodeHelp.class.getResourceAsStream("error-codes.tsv")) {
      if (in == null) {
        throw new IllegalStateException("error-codes.tsv is missing from the jar");
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.split("\t", -1);
        if (parts.length != 3) {
          throw new IllegalStateException("error-codes.tsv: not three columns: " + line);
        }
        entries.put(ErrorCode.valueOf(parts[0]), new Entry(parts[1], parts[2]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Collections.unmodifiableMap(entries);
  }
}
