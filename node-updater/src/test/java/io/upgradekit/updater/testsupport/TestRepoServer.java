package io.upgradekit.updater.testsupport;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.upgradekit.schema.Hashes;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves a repository directory on 127.0.0.1 (ETag/304, Range/206) and takes feedback and claims
 * like repo-server: reports are stored once per Idempotency-Key. Switches simulate failures.
 */
public final class TestRepoServer implements AutoCloseable {
  private final Path root;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  /** Accepted reports by idempotency key (first body wins). */
  public final Map<String, String> reports = new ConcurrentHashMap<>();
  /** Every feedback POST's key, accepted or not, in order. */
  public final List<String> feedbackPosts = Collections.synchronizedList(new ArrayList<>());
  public final AtomicInteger blobRequests = new AtomicInteger();
  /** Conditional GETs answered 304. */
  public final AtomicInteger notModified = new AtomicInteger();
  /** Paths of every blob GET, in order. */
  public final List<String> blobPaths = Collections.synchronizedList(new ArrayList<>());
  public final List<String> rangeHeaders = Collections.synchronizedList(new ArrayList<>());
  /** Claims received: "Authorization body". */
  public final List<String> claims = Collections.synchronizedList(new ArrayList<>());
  /** What /v1/claims answers (201: slot granted; 409: not yet). */
  public volatile int claimStatus = 201;
  /** When true, /v1/feedback answers 503 with Retry-After: 1. */
  public volatile boolean feedbackDown;
  /** When set, blob GETs send this many bytes and then stall. */
  public volatile int stallAfterBytes = -1;

  public TestRepoServer(Path root) throws IOException {
    this(root, 0);
  }

  /** A server on a given port (0: any free one). */
  public TestRepoServer(Path root, int port) throws IOException {
    this.root = root;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
    server.setExecutor(executor);
    server.createContext("/repo/", this::serveFile);
    server.createContext("/repo/v1/feedback", this::feedback);
    server.createContext("/repo/v1/claims", ex -> {
      claims.add(ex.getRequestHeaders().getFirst("Authorization") + " "
          + new String(ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      respond(ex, claimStatus, "{}".getBytes());
    });
    server.start();
  }

  public URI base() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/repo/");
  }

  private void feedback(HttpExchange ex) throws IOException {
    String key = ex.getRequestHeaders().getFirst("Idempotency-Key");
    byte[] body = ex.getRequestBody().readAllBytes();
    feedbackPosts.add(key);
    if (feedbackDown) {
      ex.getResponseHeaders().add("Retry-After", "1");
      respond(ex, 503, new byte[0]);
      return;
    }
    reports.putIfAbsent(key, new String(body, java.nio.charset.StandardCharsets.UTF_8));
    respond(ex, 202, new byte[0]);
  }

  private void serveFile(HttpExchange ex) throws IOException {
    String rel = ex.getRequestURI().getPath().substring("/repo/".length());
    Path file = root.resolve(rel).normalize();
    if (!file.startsWith(root) || !Files.isRegularFile(file)) {
      respond(ex, 404, new byte[0]);
      return;
    }
    byte[] bytes = Files.readAllBytes(file);
    String etag = "\"" + Hashes.sha256(bytes).substring(0, 16) + "\"";
    if (etag.equals(ex.getRequestHeaders().getFirst("If-None-Match"))) {
      notModified.incrementAndGet();
      ex.getResponseHeaders().add("ETag", etag);
      ex.sendResponseHeaders(304, -1);
      ex.close();
      return;
    }
    ex.getResponseHeaders().add("ETag", etag);
    if (rel.startsWith("blobs/")) {
      blobRequests.incrementAndGet();
      blobPaths.add(rel);
      String range = ex.getRequestHeaders().getFirst("Range");
      if (range != null) {
        rangeHeaders.add(range);
        long from = Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
        byte[] rest = java.util.Arrays.copyOfRange(bytes, (int) from, bytes.length);
        ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
        if (stallAfterBytes >= 0) {
          stall(ex, 206, rest, 0);
          return;
        }
        respond(ex, 206, rest);
        return;
      }
      if (stallAfterBytes >= 0) {
        stall(ex, 200, bytes, stallAfterBytes);
        return;
      }
    }
    respond(ex, 200, bytes);
  }

  /** Sends the headers and {@code count} bytes, then nothing: a dripping, stalled body. */
  private static void stall(HttpExchange ex, int status, byte[] bytes, int count) {
    try (OutputStream out = ex.getResponseBody()) {
      ex.sendResponseHeaders(status, bytes.length);
      out.write(bytes, 0, Math.min(count, bytes.length));
      out.flush();
      Thread.sleep(20_000);
    } catch (InterruptedException | IOException e) {
      // the client gave up, as it should
    }
  }

  private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
