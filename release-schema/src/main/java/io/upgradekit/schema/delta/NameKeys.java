package io.upgradekit.schema.delta;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keys that stay the same when a file's name changes with the release: version numbers
 * ({@code jetty-server-12.0.14.jar}, {@code apache-maven-3.9.8/}) and hash-like name parts
 * ({@code main-C047jAp3.js}) become placeholders, so a renamed file can be diffed against its
 * predecessor instead of being shipped whole.
 */
final class NameKeys {
  /** A dotted number that starts a name part: after a separator or at the start of a segment. */
  private static final Pattern VERSION = Pattern.compile("(?<![A-Za-z0-9])\\d+(?:\\.\\d+)*");
  private static final Pattern PART = Pattern.compile("[A-Za-z0-9]+");

  private NameKeys() {}

  /** The path with versions replaced by {@code #} and hash-like parts by {@code *}. */
  static String key(String path) {
    Matcher m = PART.matcher(path);
    StringBuilder out = new StringBuilder(path.length());
    while (m.find()) {
      m.appendReplacement(out, isHashLike(m.group()) ? "*" : Matcher.quoteReplacement(m.group()));
    }
    m.appendTail(out);
    return VERSION.matcher(out).replaceAll("#");
  }

  /** The key of the last path segment only, for files that moved and changed. */
  static String fileKey(String path) {
    return key(path.substring(path.lastIndexOf('/') + 1));
  }

  /**
   * Content-hash name parts as bundlers make them: letters and digits mixed, long enough that a
   * word is unlikely (at least 6 characters with 2 digits, or 8 with one digit or three capitals
   * among lowercase).
   */
  static boolean isHashLike(String part) {
    int digits = 0;
    int upper = 0;
    int lower = 0;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c >= '0' && c <= '9') {
        digits++;
      } else if (c >= 'A' && c <= 'Z') {
        upper++;
      } else {
        lower++;
      }
    }
    int letters = upper + lower;
    int n = part.length();
    return letters > 0 && ((n >= 6 && digits >= 2) || (n >= 8 && digits >= 1)
        || (n >= 8 && upper >= 3 && lower >= 3));
  }
}
