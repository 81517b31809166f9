package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every refusal of a request with a body reaches the client: the server reads and discards the
 * body (up to 8 MiB) before it answers, instead of answering and closing under a client that is
 * still sending (which the client sees as "broken pipe" or "connection reset", never the 401).
 * And a client that sends {@code Expect: 100-continue} gets the refusal without sending the body.
 * (Not tried with the JDK's HttpClient: on Java 17 its expectContinue hangs on any answer but 100,
 * JDK-8286171, fixed in 20.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RefusalsTest {
  /** The server's discard limit: far more than the socket buffers can absorb unread. */
  static final int BODY = 8 << 20;
  static final int ROUNDS = 5;

  @TempDir static Path root;
  static ServerFixture server;

  @BeforeAll
  static void start() throws Exception {
    new TestRepository().install(root);
    server = new ServerFixture(root);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  record Answer(int status, String headers, String body) {}

  record Refusal(String method, String path, String authorization, int status, String code) {}

  static final String BLOB = "/v1/blobs/" + Hashes.sha256(new byte[] {1});

  static List<Refusal> refusals() {
    return List.of(
        new Refusal("PUT", BLOB, "Bearer not-the-publisher-token-at-all", 401, "AUTH_REQUIRED"),
        new Refusal("PUT", BLOB, ServerFixture.nodeAuth("node-1"), 401, "AUTH_REQUIRED"),
        new Refusal("POST", "/v1/feedback", ServerFixture.basic("node-1", "0".repeat(64)), 401, "AUTH_REQUIRED"),
        new Refusal("POST", "/v1/claims", ServerFixture.nodeAuth("node-1"), 413, "BODY_TOO_LARGE"),
        new Refusal("POST", "/v1/nothing-here", null, 404, "NOT_FOUND"),
        new Refusal("PUT", "/apps/demo/channels/stable.json", null, 405, "REQUEST_INVALID"));
  }

  Socket connect() throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", server.server.uri().getPort()), 5_000);
    socket.setSoTimeout(30_000);
    return socket;
  }

  static void sendHead(OutputStream out, Refusal refusal, long length, boolean expectContinue) throws IOException {
    String head = refusal.method() + " " + refusal.path() + " HTTP/1.1\r\nHost: localhost\r\n"
        + (refusal.authorization() == null ? "" : "Authorization: " + refusal.authorization() + "\r\n")
        + "Content-Length: " + length + "\r\n" + (expectContinue ? "Expect: 100-continue\r\n" : "") + "\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Reads one response: status line, headers, and a Content-Length body. */
  static Answer readAnswer(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the connection ended before the answer's headers: " + head);
      }
      head.write(b);
    }
    String headers = head.toString(StandardCharsets.ISO_8859_1);
    int status = Integer.parseInt(headers.substring(9, 12));
    int length = 0;
    for (String line : headers.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    return new Answer(status, headers, new String(in.readNBytes(length), StandardCharsets.UTF_8));
  }

  @Test
  void aRefusedUploadIsAnsweredInsteadOfReset() throws Exception {
    byte[] chunk = new byte[64 * 1024];
    for (int round = 0; round < ROUNDS; round++) {
      for (Refusal refusal : refusals()) {
        try (Socket socket = connect()) {
          OutputStream out = socket.getOutputStream();
          sendHead(out, refusal, BODY, false);
          // Like most clients: the whole body first, then the answer.
          for (int sent = 0; sent < BODY; sent += chunk.length) {
            out.write(chunk);
          }
          out.flush();
          Answer answer = readAnswer(socket.getInputStream());

          assertThat(answer.status()).as(refusal + ": " + answer.body()).isEqualTo(refusal.status());
          assertThat(answer.body()).contains("\"code\":\"" + refusal.code() + "\"");
          // The body was read to its end, so the connection carries the next request.
          out.write("GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          assertThat(readAnswer(socket.getInputStream()).status()).isEqualTo(200);
        }
      }
    }
  }

  @Test
  void aJdkClientWithoutExpectContinueGetsTheRefusal() throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    byte[] body = new byte[BODY];
    for (int round = 0; round < 2 * ROUNDS; round++) {
      HttpResponse<String> refused = client.send(server.request(BLOB)
          .header("Authorization", "Bearer not-the-publisher-token-at-all")
          .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).isEqualTo(401);
      assertThat(refused.body()).contains("AUTH_REQUIRED");
    }
  }

  @Test
  void withExpectContinueTheRefusalComesFirstAndNoBodyIsAwaited() throws Exception {
    for (long length : new long[] {BODY, 64L << 20}) { // within the discard limit, and beyond
      for (Refusal refusal : refusals()) {
        try (Socket socket = connect()) {
          sendHead(socket.getOutputStream(), refusal, length, true);
          Answer answer = readAnswer(socket.getInputStream());

          assertThat(answer.status()).as(refusal + ": no '100 Continue' before the refusal")
              .isEqualTo(refusal.status());
          assertThat(answer.headers().toLowerCase(Locale.ROOT)).contains("connection: close");
          assertThat(socket.getInputStream().read()).as("the server waits for no body").isEqualTo(-1);
        }
      }
    }
  }
}
