package io.upgradekit.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.server.ServerConfig;
import io.upgradekit.server.core.NodeCredentials;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServerMainTest {
  @TempDir Path dir;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int run(String... args) {
    CommandLine line = ServerMain.commandLine();
    line.setOut(new PrintWriter(out, true));
    line.setErr(new PrintWriter(err, true));
    return line.execute(args);
  }

  @Test
  void theRolloutCommandsAreAllListedWithTheirOptions() {
    assertThat(run("rollout", "--help")).isZero();
    assertThat(out.toString()).contains("status", "start", "pause", "resume", "approve", "halt", "recall", "retry",
        "--operator-token-file");
    out.getBuffer().setLength(0);
    assertThat(run("rollout", "retry", "--help")).isZero();
    assertThat(out.toString()).contains("--server", "--app", "--version", "--node", "--reason", "--json");
    assertThat(run("rollout", "pause", "--operator-token-file", "x", "--app", "shop", "--version", "2.0")).isEqualTo(2);
    assertThat(err.toString()).contains("--reason");
    out.getBuffer().setLength(0);
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("--rollout-key-file", "--rollout-state-ttl", "--controller-interval",
        "--operator-credentials", "--max-nodes", "--instance", "--rollout-start-delay", "rollout");
  }

  @Test
  void aStoreIsNamedOnceAndByAValidAddress() {
    assertThat(run("--root", dir.toString(), "--store", "s3://bucket/repo")).isEqualTo(2);
    assertThat(err.toString()).contains("CONFIG_INVALID", "--root and --store");
    err.getBuffer().setLength(0);
    assertThat(run("--store", "s3://Bad_Bucket/repo")).isEqualTo(2);
    assertThat(err.toString()).contains("CONFIG_INVALID", "--store", "bucket");
    err.getBuffer().setLength(0);
    assertThat(run("--store", "s3://key:secret@bucket/repo")).isEqualTo(2);
    assertThat(err.toString()).contains("default chain").doesNotContain("key:secret");
    err.getBuffer().setLength(0);
    assertThat(run("--store", "s3://bucket/repo", "--store-refresh", "1h")).isEqualTo(2);
    assertThat(err.toString()).contains("--store-refresh");
    err.getBuffer().setLength(0);
    assertThat(run("node-credential", "--root", dir.toString(), "--store", "s3://bucket/repo", "--list")).isEqualTo(2);
    assertThat(err.toString()).contains("--root and --store");
  }

  @Test
  void withAStoreTheStatusIsRefreshedByDefault() {
    ServerMain main = new ServerMain();
    new CommandLine(main).parseArgs("--store", "s3://bucket/repo?endpoint=http://127.0.0.1:9&pathStyle=true");
    ServerConfig config = main.config();
    assertThat(config.store()).isEqualTo("s3://bucket/repo?endpoint=http://127.0.0.1:9&pathStyle=true");
    assertThat(config.root()).isNull();
    assertThat(config.statusRefresh()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.storeRefresh()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void theControllerIntervalMustLetTheStateBeReSignedInTime() throws Exception {
    assertThat(run("--root", dir.toString(), "--controller-interval", "1m", "--rollout-state-ttl", "2m")).isEqualTo(2);
    assertThat(err.toString()).contains("CONFIG_INVALID", "--controller-interval");
  }

  @Test
  void nodeCredentialPrintsTheHmacOfTheNodeId() throws Exception {
    Path secret = dir.resolve("secret");
    Files.writeString(secret, "a-node-secret-of-some-length\n");
    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "web-01")).isZero();
    String expected = new NodeCredentials("a-node-secret-of-some-length".getBytes(StandardCharsets.UTF_8))
        .credentialFor("web-01");
    assertThat(out.toString().trim()).isEqualTo(expected).hasSize(64);

    out.getBuffer().setLength(0);
    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "a", "b")).isZero();
    assertThat(out.toString().lines()).hasSize(2).allMatch(l -> l.matches("[ab] [0-9a-f]{64}"));

    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "../x")).isEqualTo(2);
    assertThat(err.toString()).contains("'../x' is invalid");
  }

  @Test
  void nodeCredentialRevokesReadmitsAndListsInTheRepository() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "a-node-secret-of-some-length\n");
    Path repo = Files.createDirectory(dir.resolve("repo"));
    NodeCredentials credentials = new NodeCredentials("a-node-secret-of-some-length".getBytes(StandardCharsets.UTF_8));

    assertThat(run("node-credential", "--revoke", "web-01")).isEqualTo(2);
    assertThat(err.toString()).contains("--revoke needs --root DIR");
    assertThat(run("node-credential", "--root", repo.toString(), "--revoke", "web-01", "--reason", "stolen")).isZero();
    assertThat(out.toString()).contains("revoked web-01");
    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "--root", repo.toString(), "web-01"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("web-01 is revoked", "--readmit web-01");

    out.getBuffer().setLength(0);
    assertThat(run("node-credential", "--root", repo.toString(), "--readmit", "web-01")).isEqualTo(2);
    assertThat(err.toString()).contains("--readmit needs --node-secret-file");
    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "--root", repo.toString(),
        "--readmit", "web-01")).isZero();
    assertThat(out.toString().trim()).isEqualTo(credentials.credentialFor("web-01", 2));

    out.getBuffer().setLength(0);
    assertThat(run("node-credential", "--root", repo.toString(), "--list")).isZero();
    assertThat(out.toString()).contains("web-01", "admitted");
    assertThat(run("node-credential", "--root", repo.toString(), "--list", "web-02")).isEqualTo(2);
    assertThat(err.toString()).contains("one of --revoke NODE, --readmit NODE, --list");
  }

  @Test
  void configurationErrorsNameTheOptionAndExitWith2() throws Exception {
    assertThat(run()).isEqualTo(2);
    assertThat(err.toString()).contains("--root is required");
    assertThat(run("--root", dir.resolve("missing").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("is not a directory");
    assertThat(run("--root", dir.toString(), "--publish-token-file", dir.resolve("none").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("--publish-token-file", "does not exist");
    Files.writeString(dir.resolve("short"), "abc");
    assertThat(run("--root", dir.toString(), "--node-secret-file", dir.resolve("short").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("at least 16");
    assertThat(run("--root", dir.toString(), "--idle-timeout", "soon")).isEqualTo(2);
    assertThat(err.toString()).contains("--idle-timeout", "not a duration");
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("--root=DIR", "--publish-token-file", "node-credential", "Exit status");
  }

  @Test
  void optionsBecomeTheConfiguration() throws Exception {
    Path token = dir.resolve("token");
    Files.writeString(token, "0123456789abcdef0123\n");
    ServerMain main = new ServerMain();
    new CommandLine(main).parseArgs("--root", dir.toString(), "--port", "0", "--publish-token-file", token.toString(),
        "--claim-capacity", "3", "--scope-capacity", "canary=1", "--feedback-quota", "2m", "--idle-timeout", "500ms",
        "--rate-limit", "0");
    ServerConfig config = main.config();
    assertThat(config.publishToken()).asString().isEqualTo("0123456789abcdef0123");
    assertThat(config.claimCapacity().of("canary")).isEqualTo(1);
    assertThat(config.claimCapacity().of("wave-1")).isEqualTo(3);
    assertThat(config.feedbackQuotaBytes()).isEqualTo(2L << 20);
    assertThat(config.idleTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(config.rateLimit()).isZero();
  }
}
