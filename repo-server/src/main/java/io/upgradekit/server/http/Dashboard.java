package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The operators' dashboard at {@code /ui/}: a few plain HTML, CSS and JavaScript files from the
 * jar (no build chain, nothing fetched from elsewhere), which read and steer through the same
 * {@code /v1} API as the CLI. Served from memory with ETags, and with headers that keep the pages
 * to themselves: a Content-Security-Policy that allows only this origin's scripts, styles and
 * connections (no inline script or style, no plugins, no framing), {@code nosniff}, no referrer.
 * Everything a node sends reaches the page as JSON and is put into it as text, never as markup.
 */
public final class Dashboard {
  /** The policy of every dashboard file. */
  public static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
      + " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

  private static final String RESOURCES = "io/upgradekit/server/ui/";
  private static final List<String> FILES = List.of("index.html", "app.js", "app.css", "favicon.svg");
  private static final List<HttpField> HEADERS = List.of(
      new PreEncodedHttpField("Content-Security-Policy", CSP),
      new PreEncodedHttpField("X-Content-Type-Options", "nosniff"),
      new PreEncodedHttpField("X-Frame-Options", "DENY"),
      new PreEncodedHttpField("Referrer-Policy", "no-referrer"),
      new PreEncodedHttpField("Cross-Origin-Opener-Policy", "same-origin"),
      new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-cache"));

  private record File(byte[] bytes, String type, String etag) {}

  private final boolean enabled;
  private final Map<String, File> files = new TreeMap<>();

  /** @param enabled false answers 404 under /ui/ (--dashboard off) */
  public Dashboard(boolean enabled) {
    this.enabled = enabled;
    for (String name : FILES) {
      try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
        if (in == null) {
          throw new IllegalStateException(RESOURCES + name + " is missing from the jar");
        }
        byte[] bytes = in.readAllBytes();
        String etag = "\"" + HexFormat.of().formatHex(Hashes.newSha256().digest(bytes), 0, 16) + "\"";
        files.put(name, new File(bytes, type(name), etag));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static String type(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    return name.endsWith(".css") ? "text/css; charset=utf-8" : "image/svg+xml";
  }

  /** Whether {@code path} is the dashboard's. */
  static boolean owns(String path) {
    return path.equals("/ui") || path.startsWith("/ui/");
  }

  void handle(Request request, Response response, Callback callback, String path) {
    if (!enabled) {
      HttpErrors.write(request, response, callback, ErrorCode.NOT_FOUND, "the dashboard is off on this server"
          + " (--dashboard off)");
      return;
    }
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    if (!head && !HttpMethod.GET.is(request.getMethod())) {
      HttpErrors.write(request, response, callback, 405, ErrorCode.REQUEST_INVALID, "the dashboard's files are"
          + " read with GET");
      return;
    }
    if (path.equals("/ui")) {
      response.setStatus(302);
      response.getHeaders().put(HttpHeader.LOCATION, "/ui/");
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
      callback.succeeded();
      return;
    }
    String name = path.equals("/ui/") ? "index.html" : path.substring("/ui/".length());
    File file = files.get(name);
    if (file == null) {
      HttpErrors.write(request, response, callback, ErrorCode.NOT_FOUND, "the dashboard has no file "
          + io.upgradekit.server.core.Printable.of(name) + "; open /ui/");
      return;
    }
    HEADERS.forEach(h -> response.getHeaders().put(h));
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, file.type());
    response.getHeaders().put(HttpHeader.ETAG, file.etag());
    if (Conditional.notModified(request, file.etag())) {
      response.setStatus(304);
      callback.succeeded();
      return;
    }
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, file.bytes().length);
    if (head) {
      callback.succeeded();
    } else {
      response.write(true, ByteBuffer.wrap(file.bytes()), callback);
    }
  }
}
