package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The one rule set for paths inside a payload tree, shared by every reader: the manifest's entries
 * ({@link TreeEntry}, {@link PayloadTree}), the delta decoder (names in a delta's index and header,
 * link targets) and the archive and directory readers that build trees at diff time. A path that
 * passes {@link #requireSafe} names the same single file on Linux, macOS and Windows, and resolved
 * against any directory stays inside it.
 *
 * <p>The rules (docs/delta-format.md and docs/formats.md list them the same way):
 *
 * <ol>
 *   <li>relative: not empty, no leading '/';
 *   <li>segments separated by '/', none empty, '.' or '..';
 *   <li>no character that some system reads differently: no ':' (drive letters, NTFS streams),
 *       '\', '&lt;', '&gt;', '"', '|', '?', '*', no control character (U+0000-U+001F,
 *       U+007F-U+009F);
 *   <li>valid Unicode (no unpaired surrogate, so it has a UTF-8 form) and no U+FFFD, the
 *       character that stands for bytes that did not decode;
 *   <li>no segment that Windows reserves for a device: CON, PRN, AUX, NUL, COM0-9, LPT0-9 (also
 *       with the superscript digits ¹²³), in any case, alone or before an extension ({@code
 *       con.txt}, {@code Nul.tar.gz});
 *   <li>no segment ending in '.' or ' ' (Windows drops them);
 *   <li>at most {@link #MAX_SEGMENT_BYTES} UTF-8 bytes per segment, {@link #MAX_PATH_LENGTH}
 *       characters and {@link #MAX_PATH_BYTES} UTF-8 bytes per path;
 *   <li>within one tree ({@link #requireDistinct}), no two paths that differ only by letter case
 *       or Unicode normalization in some segment ({@code README} and {@code readme}, {@code é}
 *       composed and decomposed): case-insensitive file systems would merge them. Paths are
 *       compared exactly otherwise, never repaired.
 * </ol>
 *
 * <p>A symbolic link's target ({@link #requireLinkInsideTree}) is a relative path under the same
 * rules, except that its segments may also be '.' and '..'; followed from the link's directory, it
 * must stay inside the tree.
 */
public final class TreePaths {
  /** Longest path accepted inside a tree, in characters; deeper trees are not real payloads. */
  public static final int MAX_PATH_LENGTH = 1024;
  /** Longest path in UTF-8 bytes (Linux's PATH_MAX). */
  public static final int MAX_PATH_BYTES = 4096;
  /** Longest path segment in UTF-8 bytes (Linux's NAME_MAX; Windows allows 255 UTF-16 units). */
  public static final int MAX_SEGMENT_BYTES = 255;

  private static final String FORBIDDEN = ":\\<>\"|?*";
  private static final List<String> RESERVED_NAMES = List.of("con", "prn", "aux", "nul");
  private static final List<String> RESERVED_PREFIXES = List.of("com", "lpt");
  private static final String RESERVED_DIGITS = "0123456789\u00b9\u00b2\u00b3";

  private TreePaths() {}

  /**
   * Checks a tree path against the rules above.
   *
   * @param path the path, e.g. {@code lib/app.jar}
   * @return {@code path}
   * @throws UpgradeException {@link ErrorCode#PAYLOAD_INVALID} naming the rule it breaks
   */
  public static String requireSafe(String path) {
    if (path == null || path.isEmpty()) {
      throw invalid("", "is empty");
    }
    if (path.startsWith("/")) {
      throw invalid(path, "is absolute");
    }
    requireCharacters(path, path, false);
    int start = 0;
    while (true) {
      int slash = path.indexOf('/', start);
      int end = slash < 0 ? path.length() : slash;
      requireSegment(path, path, start, end, false);
      if (slash < 0) {
        return path;
      }
      start = slash + 1;
    }
  }

  /**
   * Accepts a symlink target only when it is a relative path under the rules above (whose
   * segments may also be '.' and '..') and, resolved from the link's directory, stays inside the
   * tree. Links through other links are checked where the whole tree is known (the delta engine's
   * tree shape check).
   *
   * @param linkPath the link's own (already checked) path
   * @param target the link's target
   * @throws UpgradeException {@link ErrorCode#PAYLOAD_INVALID} otherwise
   */
  public static void requireLinkInsideTree(String linkPath, String target) {
    if (target == null || target.isEmpty() || target.startsWith("/")) {
      throw invalid(linkPath, "links to " + quote(target) + ", which is not a relative path");
    }
    requireCharacters(linkPath, target, true);
    int depth = segments(linkPath) - 1; // segments of the link's directory
    int start = 0;
    while (true) {
      int slash = target.indexOf('/', start);
      int end = slash < 0 ? target.length() : slash;
      requireSegment(linkPath, target, start, end, true);
      if (end - start == 2 && target.startsWith("..", start)) {
        if (--depth < 0) {
          throw invalid(linkPath, "links to " + quote(target) + ", outside the tree");
        }
      } else if (!(end - start == 1 && target.charAt(start) == '.')) {
        depth++;
      }
      if (slash < 0) {
        return;
      }
      start = slash + 1;
    }
  }

  /**
   * Checks that no two of a tree's paths, nor the directories they imply, differ only by letter
   * case or Unicode normalization: {@code README} and {@code readme}, or {@code Lib/a} and {@code
   * lib/b}, would be one file (or one directory) on Windows and macOS. Exact duplicates are refused
   * too.
   *
   * @param paths the tree's paths, each already checked by {@link #requireSafe}
   * @throws UpgradeException {@link ErrorCode#PAYLOAD_INVALID} naming the first such pair
   */
  public static void requireDistinct(List<String> paths) {
    int n = paths.size();
    String[] keys = new String[n];
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      keys[i] = foldKey(paths.get(i));
      order[i] = i;
    }
    // Segment by segment ('/' sorts before every other character), so that all paths that share
    // their first k folded segments are neighbours, and comparing neighbours finds every clash.
    Arrays.sort(order, (a, b) -> compareSegmentwise(keys[a], keys[b]));
    for (int i = 1; i < n; i++) {
      String a = paths.get(order[i - 1]);
      String b = paths.get(order[i]);
      if (a.equals(b)) {
        throw invalid(a, "is listed twice");
      }
      if (clash(a, keys[order[i - 1]], b, keys[order[i]])) {
        throw invalid(a, "and '" + b + "' differ only by letter case or Unicode normalization: on Windows "
            + "and macOS they name the same file or directory; rename one");
      }
    }
  }

  /** UTF-8 length of a valid (surrogate-paired) string, without encoding it. */
  public static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** Rules 3, 4 and 7 (lengths) for a path, or for the link target {@code value} of {@code path}. */
  private static void requireCharacters(String path, String value, boolean target) {
    if (value.length() > MAX_PATH_LENGTH) {
      throw invalid(path, (target ? "has a link target" : "is") + " longer than " + MAX_PATH_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
        throw invalid(path, "contains a control character");
      }
      if (FORBIDDEN.indexOf(c) >= 0) {
        throw invalid(path, "contains '" + c + "', which is not portable (one of " + FORBIDDEN + ")");
      }
      if (c == '\ufffd') {
        throw invalid(path, "contains U+FFFD, the mark of bytes that are not valid UTF-8");
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
          i++;
        } else {
          throw invalid(path, "is not valid Unicode (an unpaired surrogate)");
        }
      }
    }
    if (utf8Length(value) > MAX_PATH_BYTES) {
      throw invalid(path, (target ? "has a link target" : "is") + " longer than " + MAX_PATH_BYTES + " bytes of UTF-8");
    }
  }

  /** Rules 2, 5, 6 and 7 (segment length) for one segment; a link target's may be '.' or '..'. */
  private static void requireSegment(String path, String value, int start, int end, boolean dotsAllowed) {
    int length = end - start;
    if (length == 0) {
      throw invalid(path, dotsAllowed ? "links to " + quote(value) + ", which has an empty segment"
          : "has an empty segment");
    }
    boolean dots = (length == 1 && value.charAt(start) == '.') || (length == 2 && value.startsWith("..", start));
    if (dots) {
      if (!dotsAllowed) {
        throw invalid(path, "has a '.' or '..' segment");
      }
      return;
    }
    String segment = value.substring(start, end);
    char last = segment.charAt(length - 1);
    if (last == '.' || last == ' ') {
      throw invalid(path, "has a segment ending in '" + last + "' (" + quote(segment) + "), which Windows drops");
    }
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) {
      throw invalid(path, "has a segment longer than " + MAX_SEGMENT_BYTES + " bytes of UTF-8");
    }
    if (isReservedDevice(segment)) {
      throw invalid(path, "has the segment " + quote(segment) + ", a device name that Windows reserves");
    }
  }

  /** CON, PRN, AUX, NUL, COM0-9, LPT0-9 (and ¹²³), in any case, alone or before an extension. */
  static boolean isReservedDevice(String segment) {
    int dot = segment.indexOf('.');
    String base = (dot < 0 ? segment : segment.substring(0, dot)).stripTrailing().toLowerCase(Locale.ROOT);
    if (RESERVED_NAMES.contains(base)) {
      return true;
    }
    return base.length() == 4 && RESERVED_PREFIXES.contains(base.substring(0, 3))
        && RESERVED_DIGITS.indexOf(base.charAt(3)) >= 0;
  }

  private static int segments(String path) {
    int n = 1;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == '/') {
        n++;
      }
    }
    return n;
  }

  /** The path with every segment case-folded and NFC-normalized; the path itself if that changes nothing. */
  private static String foldKey(String path) {
    boolean plain = true;
    for (int i = 0; i < path.length() && plain; i++) {
      char c = path.charAt(i);
      plain = c < 0x80 && !(c >= 'A' && c <= 'Z');
    }
    if (plain) {
      return path;
    }
    String folded = Normalizer.normalize(path, Normalizer.Form.NFC).toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
    return Normalizer.normalize(folded, Normalizer.Form.NFC);
  }

  private static int compareSegmentwise(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        return (x == '/' ? -1 : x) - (y == '/' ? -1 : y);
      }
    }
    return a.length() - b.length();
  }

  /** True if a and b share a folded leading segment whose original spelling differs. */
  private static boolean clash(String a, String keyA, String b, String keyB) {
    int sa = 0;
    int sb = 0;
    int ka = 0;
    int kb = 0;
    while (sa <= a.length() && sb <= b.length()) {
      int ea = end(a, sa);
      int eb = end(b, sb);
      int fa = end(keyA, ka);
      int fb = end(keyB, kb);
      if (fa - ka != fb - kb || !keyA.regionMatches(ka, keyB, kb, fa - ka)) {
        return false; // the folded segments differ: no shared directory from here on
      }
      if (ea - sa != eb - sb || !a.regionMatches(sa, b, sb, ea - sa)) {
        return true;
      }
      sa = ea + 1;
      sb = eb + 1;
      ka = fa + 1;
      kb = fb + 1;
    }
    return false;
  }

  private static int end(String s, int start) {
    int slash = s.indexOf('/', start);
    return slash < 0 ? s.length() : slash;
  }

  private static String quote(String value) {
    return value == null ? "nothing" : Names.quote(value);
  }

  private static UpgradeException invalid(String path, String why) {
    return new UpgradeException(ErrorCode.PAYLOAD_INVALID, "path " + Names.quote(path) + " " + why);
  }
}
