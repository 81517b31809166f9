package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The revocation list as a running server sees it: changes within the refresh delay, failures closed. */
class NodeAccessTest {
  static final byte[] SECRET = "node-secret-for-tests-0123456789".getBytes(StandardCharsets.UTF_8);

  @TempDir Path root;
  final AtomicLong nanos = new AtomicLong(1_000);

  @Test
  void aRunningServerSeesARevocationWithinTheRefreshDelay() throws Exception {
    NodeAccess access = NodeAccess.open(root, Duration.ofSeconds(2), nanos::get);
    NodeCredentials credentials = new NodeCredentials(() -> SECRET, access);
    String web01 = credentials.credentialFor("web-01");
    assertThat(credentials.check("web-01", web01)).isEqualTo(NodeCredentials.Verdict.VALID);

    NodeAccess.revoke(root, "web-01", "retired", Clock.systemUTC());
    nanos.addAndGet(Duration.ofMillis(1999).toNanos());
    assertThat(credentials.check("web-01", web01)).as("not yet looked").isEqualTo(NodeCredentials.Verdict.VALID);
    nanos.addAndGet(Duration.ofMillis(1).toNanos());
    assertThat(credentials.check("web-01", web01)).isEqualTo(NodeCredentials.Verdict.REVOKED);
    assertThat(credentials.check("web-02", credentials.credentialFor("web-02")))
        .isEqualTo(NodeCredentials.Verdict.VALID);

    NodeAccess.Entry readmitted = NodeAccess.readmit(root, "web-01", Clock.systemUTC());
    nanos.addAndGet(Duration.ofSeconds(2).toNanos());
    assertThat(readmitted.generation()).isEqualTo(2);
    assertThat(credentials.check("web-01", credentials.credentialFor("web-01", 2)))
        .isEqualTo(NodeCredentials.Verdict.VALID);
    assertThat(credentials.check("web-01", web01)).isEqualTo(NodeCredentials.Verdict.REVOKED);
    assertThat(credentials.check("web-01", credentials.credentialFor("web-01", 3)))
        .isEqualTo(NodeCredentials.Verdict.INVALID);
  }

  @Test
  void anUnreadableListRefusesNodesUntilItIsFixed() throws Exception {
    NodeAccess access = NodeAccess.open(root, Duration.ZERO, nanos::get);
    NodeCredentials credentials = new NodeCredentials(() -> SECRET, access);
    String web02 = credentials.credentialFor("web-02");
    NodeAccess.revoke(root, "web-01", null, Clock.systemUTC());
    Path file = root.resolve(NodeAccess.FILE);
    byte[] good = Files.readAllBytes(file);

    Files.writeString(file, "{\"type\":\"node-access\",\"nodes\":{\"web-01\":");
    assertThatThrownBy(() -> credentials.check("web-02", web02)).isInstanceOf(UpgradeException.class)
        .hasMessageContaining(file.toString())
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.IO_ERROR));

    Files.write(file, good);
    assertThat(credentials.check("web-02", web02)).isEqualTo(NodeCredentials.Verdict.VALID);
    assertThat(NodeAccess.open(root.resolve("no-list-yet"), Duration.ZERO, nanos::get).entry("web-01"))
        .isEqualTo(NodeAccess.ADMITTED);
  }
}
