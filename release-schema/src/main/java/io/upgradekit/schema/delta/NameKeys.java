package io.upgradekit.schema.delta;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keys that stay the same when a file's name changes with the release: version numbers
 * ({@code jetty-server-12.0.14.jar}, {@code apache-maven-3.9.8/}) become {@code #} and content
 * hashes ({@code main-C047jAp3.js}, {@code CodeEditor--AHMF_Ho.js}, {@code 170.33fc56c43d5cf35d.js})
 * become {@code *}, so a renamed file can be diffed against its predecessor instead of being shipped
 * whole.
 *
 * <p>Three strengths. {@link #versionKey} blanks versions only: jars renamed with the release. A
 * pair found by {@link #key} or {@link #looseKey} rests on a blanked hash, which says nothing about
 * the file (Vite names many chunks {@code index-<hash>.js}), so callers confirm such pairs by
 * content ({@link Sketch}). {@link #looseKey} also blanks the 8 characters before the extension
 * that Vite and Rollup hashes take even when they look like a word ({@code ScopeForm-Clmbznvz.js},
 * {@code CreateInitialAccessToken-hwukiPff.js}): no test of the characters tells those apart.
 */
final class NameKeys {
  /** A dotted number that starts a name part: after a separator or at the start of a segment. */
  private static final Pattern VERSION = Pattern.compile("(?<![A-Za-z0-9])\\d+(?:\\.\\d+)*");
  private static final Pattern PART = Pattern.compile("[A-Za-z0-9]+");
  /**
   * Vite, Rollup and esbuild: {@code -} and 8 base64url characters (which may themselves hold
   * {@code -} and {@code _}) right before the file's extensions.
   */
  private static final Pattern BUNDLER = Pattern.compile("-([A-Za-z0-9_-]{8})((?:\\.[A-Za-z0-9]+)+)$");
  /** webpack's {@code [contenthash]} (and {@code name.hash.ext} in general): hex before the extensions. */
  private static final Pattern HEX = Pattern.compile("[-.]([0-9a-f]{8,64})((?:\\.[A-Za-z0-9]+)+)$");

  private NameKeys() {}

  /** The path with versions replaced by {@code #}; nothing else. */
  static String versionKey(String path) {
    return VERSION.matcher(path).replaceAll("#");
  }

  /** The path with versions replaced by {@code #} and parts that are surely hashes by {@code *}. */
  static String key(String path) {
    return key(path, false);
  }

  /** As {@link #key}, with any 8 characters in a bundler hash's place blanked too. */
  static String looseKey(String path) {
    return key(path, true);
  }

  /** The key of the last path segment only, for files that moved and changed. */
  static String fileKey(String path) {
    return key(fileName(path));
  }

  /** The loose key of the last path segment only. */
  static String looseFileKey(String path) {
    return looseKey(fileName(path));
  }

  private static String fileName(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  private static String key(String path, boolean loose) {
    int slash = path.lastIndexOf('/');
    String dir = path.substring(0, slash + 1);
    String name = path.substring(slash + 1);
    Matcher b = BUNDLER.matcher(name);
    Matcher h = HEX.matcher(name);
    if (b.find() && (loose || isBundlerHash(b.group(1)))) {
      name = name.substring(0, b.start(1)) + "*" + b.group(2);
    } else if (h.find() && hasDigitAndLetter(h.group(1))) {
      name = name.substring(0, h.start(1)) + "*" + h.group(2);
    }
    Matcher m = PART.matcher(dir + name);
    StringBuilder out = new StringBuilder(path.length());
    while (m.find()) {
      m.appendReplacement(out, isHashLike(m.group()) ? "*" : Matcher.quoteReplacement(m.group()));
    }
    m.appendTail(out);
    return versionKey(out.toString());
  }

  /**
   * An 8-character part in a bundler hash's place that cannot be a word: a digit among letters,
   * {@code -} or {@code _} with letters, or mixed case with at least two capitals next to each
   * other ({@code BcXPZoZC}, {@code CYDtZYQX}); not {@code Settings}, {@code hwukiPff}, {@code overview}.
   */
  static boolean isBundlerHash(String part) {
    int digits = 0;
    int upper = 0;
    int lower = 0;
    int marks = 0;
    boolean adjacentCapitals = false;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c >= '0' && c <= '9') {
        digits++;
      } else if (c >= 'A' && c <= 'Z') {
        upper++;
        adjacentCapitals |= i > 0 && Character.isUpperCase(part.charAt(i - 1));
      } else if (c >= 'a' && c <= 'z') {
        lower++;
      } else {
        marks++;
      }
    }
    int letters = upper + lower;
    return letters > 0 && (digits > 0 || marks > 0 && upper > 0 || upper >= 2 && lower > 0 && adjacentCapitals);
  }

  /**
   * An alphanumeric run that is a hash wherever it stands: at least 6 characters in which digits
   * and letters alternate at least three times ({@code 0a1b2c3d}, {@code C047jAp3}). Words keep
   * their digits together ({@code AddOAuth2}, {@code Base64Encoder}, {@code Http2ServerConnection},
   * {@code log4j}) and CamelCase words have none ({@code AddIdentityProvider}): blanking either would
   * give unrelated files one key.
   */
  static boolean isHashLike(String part) {
    int transitions = 0;
    for (int i = 1; i < part.length(); i++) {
      if (isDigit(part.charAt(i)) != isDigit(part.charAt(i - 1))) {
        transitions++;
      }
    }
    return part.length() >= 6 && transitions >= 3;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean hasDigitAndLetter(String part) {
    boolean digit = false;
    boolean letter = false;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      digit |= c >= '0' && c <= '9';
      letter |= c >= 'a' && c <= 'f';
    }
    return digit && letter;
  }
}
