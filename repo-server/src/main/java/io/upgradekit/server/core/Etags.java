package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;

/**
 * The server's entity tags: the quoted SHA-256 of a file's content. Strong, identical across
 * server processes and restarts, and computable by any client (a blob's ETag is its name), so a
 * publisher can send {@code If-Match} for a pointer it holds without fetching it first.
 */
public final class Etags {
  private Etags() {}

  public static String of(byte[] content) {
    return quote(Hashes.sha256(content));
  }

  public static String quote(String sha256) {
    return '"' + sha256 + '"';
  }

  /**
   * Whether an {@code If-Match}/{@code If-None-Match} header value lists {@code etag}. {@code
   * weak} allows the weak comparison that {@code If-None-Match} uses ({@code W/} prefixes
   * ignored).
   */
  public static boolean listMatches(String header, String etag, boolean weak) {
    if (header == null) {
      return false;
    }
    int start = 0;
    int length = header.length();
    while (start < length) {
      int comma = header.indexOf(',', start);
      int end = comma < 0 ? length : comma;
      String candidate = header.substring(start, end).trim();
      if (candidate.equals("*")) {
        return true;
      }
      if (candidate.startsWith("W/")) {
        if (weak && candidate.regionMatches(2, etag, 0, etag.length()) && candidate.length() == etag.length() + 2) {
          return true;
        }
      } else if (candidate.equals(etag)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }
}
