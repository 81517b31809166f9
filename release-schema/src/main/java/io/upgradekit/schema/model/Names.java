package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.util.regex.Pattern;

/**
 * The strict patterns for every name that becomes part of a repository path. A name that passes
 * its check is a single, visible path segment on every file system and in every URL: no
 * separators, no {@code ..}, no leading dot, no control or non-ASCII characters, nothing that
 * needs percent-encoding, at most 64 characters.
 *
 * <p>Names are checked, never repaired (no lower-casing, trimming or decoding), so that two
 * programs can never disagree on which file a name denotes.
 */
public final class Names {
  /** Apps, channels, rollout scopes and node ids: lowercase, 1 to 63 characters. */
  public static final String LOWERCASE_NAME_PATTERN = "[a-z0-9][a-z0-9._-]{0,62}";

  /** Release versions: like Maven versions ({@code 1.4.0-RC1}, {@code 2.0+build.7}), 1 to 63. */
  public static final String VERSION_PATTERN = "[0-9A-Za-z][0-9A-Za-z._+-]{0,62}";

  /** Feedback event ids (UUIDs, ULIDs and the like): 1 to 64 characters, no dots. */
  public static final String EVENT_ID_PATTERN = "[0-9A-Za-z][0-9A-Za-z_-]{0,63}";

  /** Node label keys ({@code zone}, {@code rack}, {@code group}): lowercase, 1 to 63 characters. */
  public static final String LABEL_KEY_PATTERN = "[a-z][a-z0-9._-]{0,62}";

  /** Node label values ({@code eu-west-1a}, {@code r12}): 1 to 63 characters, no spaces or quotes. */
  public static final String LABEL_VALUE_PATTERN = "[0-9A-Za-z][0-9A-Za-z._:-]{0,62}";

  private static final Pattern LOWERCASE_NAME = Pattern.compile(LOWERCASE_NAME_PATTERN);
  private static final Pattern LABEL_KEY = Pattern.compile(LABEL_KEY_PATTERN);
  private static final Pattern LABEL_VALUE = Pattern.compile(LABEL_VALUE_PATTERN);
  private static final Pattern VERSION = Pattern.compile(VERSION_PATTERN);
  private static final Pattern EVENT_ID = Pattern.compile(EVENT_ID_PATTERN);

  /** How much of a refused value an error message quotes. */
  private static final int MAX_QUOTED = 64;

  private Names() {}

  /**
   * Checks an application name.
   *
   * @param app the name, e.g. {@code billing-api}
   * @return {@code app}, for use in expressions
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static String requireApp(String app) {
    return requireLowercaseName("app", app);
  }

  /**
   * Checks a channel name.
   *
   * @param channel the name, e.g. {@code stable}
   * @return {@code channel}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static String requireChannel(String channel) {
    return requireLowercaseName("channel", channel);
  }

  /**
   * Checks a rollout scope (the group of nodes that share claim slots, e.g. a wave or a site).
   *
   * @param scope the name, e.g. {@code wave-1}
   * @return {@code scope}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static String requireScope(String scope) {
    return requireLowercaseName("scope", scope);
  }

  /**
   * Checks a node id.
   *
   * @param node the id, e.g. {@code web-07.dc1}
   * @return {@code node}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static String requireNodeId(String node) {
    return requireLowercaseName("node id", node);
  }

  /**
   * Checks a release version.
   *
   * @param version the version, e.g. {@code 1.4.0-RC1}
   * @return {@code version}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #VERSION_PATTERN} without {@code ..}
   */
  public static String requireVersion(String version) {
    if (!isVersion(version)) {
      throw invalid("version", version, VERSION_PATTERN + " without '..'");
    }
    return version;
  }

  /**
   * Checks a content blob's name, its SHA-256.
   *
   * @param sha256 the hash
   * @return {@code sha256}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it is 64 lowercase hex digits
   */
  public static String requireBlobHash(String sha256) {
    if (!Hashes.isSha256Hex(sha256)) {
      throw invalid("blob hash", sha256, Hashes.SHA256_HEX.pattern());
    }
    return sha256;
  }

  /**
   * Checks a feedback event id.
   *
   * @param eventId the id, e.g. a UUID
   * @return {@code eventId}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #EVENT_ID_PATTERN}
   */
  public static String requireEventId(String eventId) {
    if (!isEventId(eventId)) {
      throw invalid("event id", eventId, EVENT_ID_PATTERN);
    }
    return eventId;
  }

  /**
   * Checks a release set's name.
   *
   * @param name the name, e.g. {@code shop}
   * @return {@code name}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link
   *     #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static String requireSetName(String name) {
    return requireLowercaseName("set name", name);
  }

  /**
   * Checks a node label's key.
   *
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link #LABEL_KEY_PATTERN}
   */
  public static String requireLabelKey(String key) {
    return requireMatch("label key", key, LABEL_KEY);
  }

  /**
   * Checks a node label's value.
   *
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@link #LABEL_VALUE_PATTERN}
   */
  public static String requireLabelValue(String value) {
    return requireMatch("label value", value, LABEL_VALUE);
  }

  /**
   * Whether {@code name} is a valid app, channel, scope or node id.
   *
   * @param name any string, or null
   * @return true if it matches {@link #LOWERCASE_NAME_PATTERN} without {@code ..}
   */
  public static boolean isLowercaseName(String name) {
    return name != null && LOWERCASE_NAME.matcher(name).matches() && !name.contains("..");
  }

  /**
   * Whether {@code version} is a valid release version.
   *
   * @param version any string, or null
   * @return true if it matches {@link #VERSION_PATTERN} without {@code ..}
   */
  public static boolean isVersion(String version) {
    return version != null && VERSION.matcher(version).matches() && !version.contains("..");
  }

  /**
   * Whether {@code eventId} is a valid feedback event id.
   *
   * @param eventId any string, or null
   * @return true if it matches {@link #EVENT_ID_PATTERN}
   */
  public static boolean isEventId(String eventId) {
    return eventId != null && EVENT_ID.matcher(eventId).matches();
  }

  /**
   * Checks any other coded value (state names, error codes, metric names) against its pattern.
   *
   * @param field names the value in the error message
   * @return {@code value}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} unless it matches {@code pattern}
   */
  public static String requireMatch(String field, String value, Pattern pattern) {
    if (value == null || !pattern.matcher(value).matches()) {
      throw invalid(field, value, pattern.pattern());
    }
    return value;
  }

  private static String requireLowercaseName(String field, String value) {
    if (!isLowercaseName(value)) {
      throw invalid(field, value, LOWERCASE_NAME_PATTERN + " without '..'");
    }
    return value;
  }

  private static UpgradeException invalid(String field, String value, String rule) {
    String what = value == null ? field + " is missing" : field + " " + quote(value) + " is invalid";
    return new UpgradeException(ErrorCode.NAME_INVALID, what + ": it must match " + rule);
  }

  /**
   * Quotes an untrusted value for an error message: printable ASCII as is, anything else escaped,
   * long values cut, so that a hostile name cannot forge log lines or flood them.
   */
  public static String quote(String value) {
    StringBuilder out = new StringBuilder("'");
    int limit = Math.min(value.length(), MAX_QUOTED);
    for (int i = 0; i < limit; i++) {
      char c = value.charAt(i);
      if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    out.append('\'');
    if (value.length() > MAX_QUOTED) {
      out.append(" (cut; ").append(value.length()).append(" characters)");
    }
    return out.toString();
  }
}
