package io.upgradekit.server.http;

import io.upgradekit.schema.Hashes;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * ETags of the API's read answers, so that a polling client (the dashboard, every few seconds)
 * gets {@code 304 Not Modified} without a body while nothing changed. The tag is a hash of the
 * answer without its {@code generatedAt}, which changes on every request.
 */
final class Conditional {
  /** A top-level or nested {@code "generatedAt":"<instant>"} member of a canonical body. */
  private static final Pattern GENERATED_AT = Pattern.compile("\"generatedAt\":\"[^\"]*\"");

  private Conditional() {}

  static String etag(byte[] body) {
    String stable = GENERATED_AT.matcher(new String(body, StandardCharsets.UTF_8)).replaceAll("");
    byte[] hash = Hashes.newSha256().digest(stable.getBytes(StandardCharsets.UTF_8));
    return "\"" + HexFormat.of().formatHex(hash, 0, 16) + "\"";
  }

  /** Whether the request's {@code If-None-Match} names {@code etag} (weak comparison, lists, {@code *}). */
  static boolean notModified(Request request, String etag) {
    String header = request.getHeaders().get(HttpHeader.IF_NONE_MATCH);
    if (header == null) {
      return false;
    }
    for (String tag : header.split(",")) {
      String t = tag.strip();
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.equals("*") || t.equals(etag)) {
        return true;
      }
    }
    return false;
  }
}
