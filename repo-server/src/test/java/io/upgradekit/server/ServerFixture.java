package io.upgradekit.server;

import io.upgradekit.server.core.NodeCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.function.UnaryOperator;

/** A real server on an ephemeral loopback port, with a JDK HTTP client. Close it to stop the server. */
final class ServerFixture implements AutoCloseable {
  static final String TOKEN = "publisher-token-for-tests-0123456789";
  static final byte[] NODE_SECRET = "node-secret-for-tests-0123456789".getBytes(StandardCharsets.UTF_8);
  static final NodeCredentials CREDENTIALS = new NodeCredentials(NODE_SECRET);

  final Path root;
  final RepoServer server;
  final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  ServerFixture(Path root, UnaryOperator<ServerConfig.Builder> customize) throws Exception {
    this(root, ServerConfig.builder(root), customize);
  }

  /** A server on a repository in an object store ({@code --store ADDRESS}). */
  ServerFixture(String store, UnaryOperator<ServerConfig.Builder> customize) throws Exception {
    this(null, ServerConfig.builderForStore(store), customize);
  }

  private ServerFixture(Path root, ServerConfig.Builder builder, UnaryOperator<ServerConfig.Builder> customize)
      throws Exception {
    this.root = root;
    builder.port(0).bind("127.0.0.1").accessLog("off").rateLimit(0)
        .publishToken(TOKEN.getBytes(StandardCharsets.UTF_8)).nodeSecret(NODE_SECRET)
        .stopTimeout(Duration.ofSeconds(2));
    this.server = RepoServer.start(customize.apply(builder).build());
  }

  ServerFixture(Path root) throws Exception {
    this(root, b -> b);
  }

  URI uri(String path) {
    return server.uri().resolve(path.startsWith("/") ? path.substring(1) : path);
  }

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30));
  }

  HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return send(request(path).GET().build());
  }

  HttpResponse<String> put(String path, byte[] body, String... headers) throws IOException, InterruptedException {
    HttpRequest.Builder b = request(path).PUT(HttpRequest.BodyPublishers.ofByteArray(body))
        .header("Authorization", "Bearer " + TOKEN);
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.build());
  }

  static String nodeAuth(String node) {
    return basic(node, CREDENTIALS.credentialFor(node));
  }

  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  HttpResponse<String> postAsNode(String path, String node, byte[] body) throws IOException, InterruptedException {
    return send(request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body))
        .header("Authorization", nodeAuth(node)).header("Content-Type", "application/json").build());
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
