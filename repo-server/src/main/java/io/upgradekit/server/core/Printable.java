package io.upgradekit.server.core;

/** Untrusted text (a request's path or names) made safe for messages and logs. */
public final class Printable {
  private Printable() {}

  /** At most 120 characters of {@code value}, anything but printable ASCII as {@code ?}. */
  public static String of(String value) {
    String shown = value.length() > 120 ? value.substring(0, 120) + "..." : value;
    return shown.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
