package io.upgradekit.plugin.release;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.upgradekit.schema.Hashes;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * repo-server's publish protocol as docs/repo-server.md describes it, on loopback, over an
 * in-memory file map: static GET/HEAD with ETag = quoted SHA-256, bearer-token PUTs, immutable
 * manifests (409 VERSION_EXISTS), and channel pointers by If-Match / If-None-Match: * (412).
 * It verifies no signatures; the client's side of the protocol is what is under test.
 */
final class FakeRepoServer implements AutoCloseable {
  static final String TOKEN = "publisher-token";

  final Map<String, byte[]> files = new ConcurrentHashMap<>();
  final AtomicInteger preconditionFailures = new AtomicInteger();
  /** Every write request: method, path and its Expect header. */
  final List<Write> writes = new CopyOnWriteArrayList<>();
  /** What GET /v1/whoami says the blob size limit is; 0 for a server without /v1/whoami. */
  volatile long maxBlobSize = 1L << 30;

  record Write(String method, String path, String expect) {}
  private final HttpServer server;

  FakeRepoServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  private static String etag(byte[] bytes) {
    return '"' + Hashes.sha256(bytes) + '"';
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath().substring(1);
      String method = exchange.getRequestMethod();
      boolean api = path.startsWith("v1/");
      if (!api && (method.equals("GET") || method.equals("HEAD"))) {
        byte[] bytes = files.get(path);
        if (bytes == null) {
          send(exchange, 404, "{\"code\":\"NOT_FOUND\",\"message\":\"no such file\"}");
          return;
        }
        exchange.getResponseHeaders().add("ETag", etag(bytes));
        exchange.sendResponseHeaders(200, method.equals("HEAD") ? -1 : bytes.length);
        if (method.equals("GET")) {
          exchange.getResponseBody().write(bytes);
        } else {
          exchange.getResponseHeaders().add("Content-Length", Integer.toString(bytes.length));
        }
        return;
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        writes.add(new Write(method, path, exchange.getRequestHeaders().getFirst("Expect")));
      }
      if (method.equals("GET") && path.equals("v1/whoami")) {
        if (maxBlobSize == 0) {
          send(exchange, 404, "{\"code\":\"NOT_FOUND\",\"message\":\"no API here\"}");
        } else if (("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
          send(exchange, 200, "{\"caller\":\"publisher\",\"maxBlobSize\":" + maxBlobSize + "}");
        } else {
          send(exchange, 401, "{\"code\":\"AUTH_REQUIRED\",\"message\":\"the publisher token is not valid\"}");
        }
        return;
      }
      if (!("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
        send(exchange, 401, "{\"code\":\"AUTH_REQUIRED\",\"message\":\"publishing needs a bearer token\"}");
        return;
      }
      byte[] body = exchange.getRequestBody().readAllBytes();
      String[] s = path.split("/");
      if (s.length == 3 && s[1].equals("blobs")) {
        if (!Hashes.sha256(body).equals(s[2])) {
          send(exchange, 400, "{\"code\":\"HASH_MISMATCH\",\"message\":\"wrong hash\"}");
          return;
        }
        boolean created = files.putIfAbsent("blobs/sha256/" + s[2].substring(0, 2) + "/" + s[2], body) == null;
        send(exchange, created ? 201 : 200, "{}");
      } else if (s.length == 5 && s[3].equals("releases")) {
        String target = "apps/" + s[2] + "/releases/" + s[4] + "/release.json";
        byte[] existing = files.putIfAbsent(target, body);
        if (existing == null) {
          send(exchange, 201, "{}");
        } else if (Arrays.equals(existing, body)) {
          send(exchange, 200, "{}");
        } else {
          send(exchange, 409, "{\"code\":\"VERSION_EXISTS\",\"message\":\"already published with other content\"}");
        }
      } else if (s.length == 4 && s[1].equals("sets")) {
        String target = "sets/" + s[2] + "/" + s[3] + ".json";
        byte[] existing = files.putIfAbsent(target, body);
        if (existing == null) {
          send(exchange, 201, "{}");
        } else if (Arrays.equals(existing, body)) {
          send(exchange, 200, "{}");
        } else {
          send(exchange, 409, "{\"code\":\"VERSION_EXISTS\",\"message\":\"already published with other content\"}");
        }
      } else if (s.length == 5 && s[3].equals("channels")) {
        String target = "apps/" + s[2] + "/channels/" + s[4] + ".json";
        String ifMatch = exchange.getRequestHeaders().getFirst("If-Match");
        String ifNoneMatch = exchange.getRequestHeaders().getFirst("If-None-Match");
        synchronized (this) {
          byte[] current = files.get(target);
          boolean ok = ifNoneMatch != null ? current == null
              : ifMatch != null && current != null && ifMatch.equals(etag(current));
          if (!ok) {
            preconditionFailures.incrementAndGet();
            send(exchange, ifMatch == null && ifNoneMatch == null ? 428 : 412,
                "{\"code\":\"PRECONDITION_FAILED\",\"message\":\"the channel pointer changed\"}");
            return;
          }
          files.put(target, body);
        }
        send(exchange, 200, "{}");
      } else {
        send(exchange, 404, "{\"code\":\"NOT_FOUND\",\"message\":\"no API here\"}");
      }
    }
  }

  private static void send(HttpExchange exchange, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
