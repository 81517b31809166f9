package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.util.regex.Pattern;

/**
 * The strict patterns for names that end up in paths, URLs and file names: apps, channels,
 * scopes, node ids, versions and event ids. A name that passes is safe as one path segment on every
 * platform and every static server.
 */
public final class Names {
  /** Apps, channels, scopes and node ids: lowercase letters, digits, '.', '_', '-'; 1–63 chars. */
  public static final Pattern IDENTIFIER = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  /** Versions: letters, digits, '.', '_', '+', '-'; 1–63 chars (semver with build metadata fits). */
  public static final Pattern VERSION = Pattern.compile("[0-9A-Za-z][0-9A-Za-z._+-]{0,62}");
  /** Event ids (UUIDs and the like): letters, digits, '_', '-'; 1–64 chars. */
  public static final Pattern EVENT_ID = Pattern.compile("[0-9A-Za-z][0-9A-Za-z_-]{0,63}");

  private Names() {}

  public static String app(String value) {
    return require("app", value, IDENTIFIER);
  }

  public static String channel(String value) {
    return require("channel", value, IDENTIFIER);
  }

  public static String scope(String value) {
    return require("scope", value, IDENTIFIER);
  }

  public static String node(String value) {
    return require("node", value, IDENTIFIER);
  }

  public static String version(String value) {
    return require("version", value, VERSION);
  }

  public static String eventId(String value) {
    return require("eventId", value, EVENT_ID);
  }

  /**
   * Returns {@code value} if it matches {@code pattern} and holds no "..".
   *
   * @throws UpgradeException NAME_INVALID, naming the field and the rule
   */
  public static String require(String field, String value, Pattern pattern) {
    if (value == null) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, field + " is missing");
    }
    if (!pattern.matcher(value).matches() || value.contains("..")) {
      String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
      throw new UpgradeException(ErrorCode.NAME_INVALID, field + " '" + printable(shown)
          + "' is not allowed: it must match " + pattern.pattern() + " and not contain '..'");
    }
    return value;
  }

  private static String printable(String value) {
    StringBuilder out = new StringBuilder();
    for (char c : value.toCharArray()) {
      out.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return out.toString();
  }
}
