package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.server.core.NodeCredentials;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing the publisher token file or the node secret file rotates that secret on the running
 * server (the old one is refused at once), and a file that no longer holds a valid secret fails
 * closed instead of keeping the old one.
 */
@Timeout(60)
class CredentialRotationTest {
  @TempDir Path root;
  @TempDir Path secrets;
  ServerFixture server;
  Path tokenFile;
  Path nodeSecretFile;

  @BeforeEach
  void start() throws Exception {
    tokenFile = Files.writeString(secrets.resolve("publish-token"), ServerFixture.TOKEN + "\n");
    nodeSecretFile = Files.write(secrets.resolve("node-secret"), ServerFixture.NODE_SECRET);
    server = new ServerFixture(root, b -> b.publishTokenFile(tokenFile).nodeSecretFile(nodeSecretFile)
        .credentialRefresh(Duration.ZERO));
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  /** As an operator should: a new file, then rename it over the old one. */
  void replace(Path file, String content) throws Exception {
    Path next = Files.writeString(file.resolveSibling(file.getFileName() + ".new"), content);
    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  HttpResponse<String> whoami(String authorization) throws Exception {
    return server.send(server.request("/v1/whoami").header("Authorization", authorization).GET().build());
  }

  @Test
  void aReplacedPublisherTokenTakesEffectWithoutARestart() throws Exception {
    assertThat(whoami("Bearer " + ServerFixture.TOKEN).statusCode()).isEqualTo(200);

    replace(tokenFile, "the-rotated-publisher-token-0123456789\n");

    assertThat(whoami("Bearer " + ServerFixture.TOKEN).statusCode()).as("the old token is revoked").isEqualTo(401);
    assertThat(whoami("Bearer the-rotated-publisher-token-0123456789").statusCode()).isEqualTo(200);

    replace(tokenFile, "short");
    HttpResponse<String> broken = whoami("Bearer the-rotated-publisher-token-0123456789");
    assertThat(broken.statusCode()).as("fails closed").isEqualTo(500);
    assertThat(broken.body()).contains("--publish-token-file").contains("at least 16");
  }

  @Test
  void aReplacedNodeSecretTakesEffectWithoutARestart() throws Exception {
    assertThat(whoami(ServerFixture.nodeAuth("web-01")).statusCode()).isEqualTo(200);
    byte[] rotated = "a-rotated-node-secret-0123456789".getBytes(StandardCharsets.UTF_8);

    replace(nodeSecretFile, new String(rotated, StandardCharsets.UTF_8));

    assertThat(whoami(ServerFixture.nodeAuth("web-01")).statusCode()).isEqualTo(401);
    String fresh = new NodeCredentials(rotated).credentialFor("web-01");
    assertThat(whoami(ServerFixture.basic("web-01", fresh)).statusCode()).isEqualTo(200);
  }
}
