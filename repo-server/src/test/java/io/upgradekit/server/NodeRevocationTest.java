package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.server.core.NodeCredentials;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One node's credential is revoked with the node-credential command while two servers serve the
 * repository: both refuse that node on every endpoint with 401 CREDENTIAL_REVOKED at its next
 * request, other nodes carry on, and the node's re-issued credential works (the revoked one stays
 * refused).
 */
@Timeout(60)
class NodeRevocationTest {
  @TempDir Path root;
  @TempDir Path secrets;
  ServerFixture server;
  ServerFixture second;
  Path secretFile;

  @BeforeEach
  void start() throws Exception {
    Path release = root.resolve("apps/demo/releases/1.0.0/release.json");
    Files.createDirectories(release.getParent());
    Files.write(release, new byte[] {'{', '}'});
    secretFile = Files.write(secrets.resolve("node-secret"), ServerFixture.NODE_SECRET);
    // Zero: each node request looks at the list, so the test needs no waiting for the refresh delay.
    server = new ServerFixture(root, b -> b.credentialRefresh(Duration.ZERO).claimCapacity(
        new io.upgradekit.server.core.ClaimCapacity(10, java.util.Map.of())));
    second = new ServerFixture(root, b -> b.credentialRefresh(Duration.ZERO));
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    second.close();
  }

  String command(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine line = io.upgradekit.server.cli.ServerMainAccess.commandLine();
    line.setOut(new PrintWriter(out, true));
    line.setErr(new PrintWriter(err, true));
    int status = line.execute(args);
    assertThat(status).as(err.toString()).isZero();
    return out.toString().strip();
  }

  static HttpResponse<String> claim(ServerFixture on, String node, String authorization) throws Exception {
    return on.send(on.request("/v1/claims").header("Authorization", authorization)
        .POST(HttpRequest.BodyPublishers.ofByteArray(ClaimApiTest.body("wave-1", node))).build());
  }

  static HttpResponse<String> feedback(ServerFixture on, String node, String authorization) throws Exception {
    byte[] report = FeedbackApiTest.report(node, "ev-" + System.nanoTime(), 0, "1.0.0", "1.1.0", "COMMITTED",
        Instant.now());
    return on.send(on.request("/v1/feedback").header("Authorization", authorization)
        .POST(HttpRequest.BodyPublishers.ofByteArray(report)).build());
  }

  static HttpResponse<String> whoami(ServerFixture on, String authorization) throws Exception {
    return on.send(on.request("/v1/whoami").header("Authorization", authorization).GET().build());
  }

  static void assertRevoked(HttpResponse<String> response) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(401);
    assertThat(response.body()).contains("\"code\":\"CREDENTIAL_REVOKED\"").contains("--readmit");
  }

  @Test
  void aRevokedNodeIsRefusedEverywhereOthersCarryOnAndItsNewCredentialWorks() throws Exception {
    String old = ServerFixture.nodeAuth("web-01");
    assertThat(claim(server, "web-01", old).statusCode()).isEqualTo(201);
    assertThat(whoami(second, old).body()).contains("\"node\":\"web-01\"");

    String revoked = command("node-credential", "--root", root.toString(), "--revoke", "web-01", "--reason",
        "disk stolen");
    assertThat(revoked).contains("revoked web-01");

    for (ServerFixture on : new ServerFixture[] {server, second}) {
      assertRevoked(claim(on, "web-01", old));
      assertRevoked(feedback(on, "web-01", old));
      assertRevoked(whoami(on, old));
      assertThat(claim(on, "web-02", ServerFixture.nodeAuth("web-02")).statusCode()).isIn(200, 201);
      assertThat(feedback(on, "web-02", ServerFixture.nodeAuth("web-02")).statusCode()).isEqualTo(201);
    }
    HttpResponse<String> forged = claim(server, "web-01", ServerFixture.basic("web-01", "0".repeat(64)));
    assertThat(forged.body()).as("a wrong credential is not told the node is revoked").contains("AUTH_REQUIRED");

    String reissued = command("node-credential", "--root", root.toString(), "--node-secret-file",
        secretFile.toString(), "--readmit", "web-01");
    assertThat(reissued).matches("[0-9a-f]{64}").isNotEqualTo(ServerFixture.CREDENTIALS.credentialFor("web-01"));
    String fresh = ServerFixture.basic("web-01", reissued);
    for (ServerFixture on : new ServerFixture[] {server, second}) {
      assertThat(whoami(on, fresh).statusCode()).isEqualTo(200);
      assertThat(feedback(on, "web-01", fresh).statusCode()).isEqualTo(201);
      assertRevoked(feedback(on, "web-01", old));
    }
    assertThat(claim(server, "web-01", fresh).statusCode()).as("it holds its slot still").isEqualTo(200);
    assertThat(command("node-credential", "--root", root.toString(), "--node-secret-file", secretFile.toString(),
        "web-01")).as("printing gives the current generation").isEqualTo(reissued);
    assertThat(command("node-credential", "--root", root.toString(), "--list"))
        .contains("web-01").contains("admitted").contains(" 2 ");
  }

  @Test
  void theListIsNeverServed() throws Exception {
    command("node-credential", "--root", root.toString(), "--revoke", "web-01");
    assertThat(root.resolve(".access/nodes.json")).exists();

    assertThat(server.get("/.access/nodes.json").statusCode()).isEqualTo(404);
    assertThat(server.get("/.access/").statusCode()).isEqualTo(404);
    assertThat(server.get("/%2eaccess/nodes.json").statusCode()).isIn(400, 404);
  }

  @Test
  void theReissuedCredentialIsTheNextGenerationOfTheSecret() {
    NodeCredentials credentials = new NodeCredentials(ServerFixture.NODE_SECRET);
    assertThat(credentials.credentialFor("web-01", 2)).isNotEqualTo(credentials.credentialFor("web-01", 1))
        .isNotEqualTo(credentials.credentialFor("web-01", 3)).matches("[0-9a-f]{64}");
  }
}
