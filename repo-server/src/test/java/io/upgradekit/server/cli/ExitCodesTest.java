package io.upgradekit.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** One mapping from failures to exit statuses, and every failure printed with its code. */
@Timeout(60)
class ExitCodesTest {
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
  void codesMapToTheDocumentedStatuses() {
    assertThat(ExitCodes.of(ErrorCode.CONFIG_INVALID)).isEqualTo(ExitCodes.USAGE).isEqualTo(2);
    assertThat(ExitCodes.of(ErrorCode.SIGNATURE_INVALID)).isEqualTo(ExitCodes.USAGE);
    assertThat(ExitCodes.of(ErrorCode.NAME_INVALID)).isEqualTo(ExitCodes.USAGE);
    assertThat(ExitCodes.of(ErrorCode.IO_ERROR)).isEqualTo(ExitCodes.FAILED).isEqualTo(1);
    assertThat(ExitCodes.of(new UpgradeException(ErrorCode.METADATA_EXPIRED, "old root"))).isEqualTo(ExitCodes.USAGE);
    assertThat(ExitCodes.of(new IOException("cannot listen", new BindException("in use")))).isEqualTo(ExitCodes.FAILED);
    assertThat(ExitCodes.of(new IllegalStateException("a bug"))).isEqualTo(ExitCodes.FAILED);
  }

  @Test
  void optionAndSecretFileErrorsAreConfigInvalid() throws Exception {
    assertThat(run()).isEqualTo(2);
    assertThat(err.toString()).contains("repo-server: CONFIG_INVALID: --root is required", "--help");
    assertThat(run("--root", dir.toString(), "--publish-token-file", dir.resolve("none").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("repo-server: CONFIG_INVALID: --publish-token-file");
    Files.writeString(dir.resolve("short"), "abc");
    assertThat(run("--root", dir.toString(), "--node-secret-file", dir.resolve("short").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("CONFIG_INVALID: --node-secret-file", "at least 16");
    assertThat(run("--root", dir.toString(), "--idle-timeout", "soon")).isEqualTo(2);
    assertThat(err.toString()).contains("repo-server: CONFIG_INVALID: ", "--idle-timeout");
    assertThat(run("node-credential", "--node-secret-file", dir.resolve("none").toString(), "web-01")).isEqualTo(2);
    assertThat(err.toString()).contains("repo-server: CONFIG_INVALID: --node-secret-file");
  }

  @Test
  void aRefusedNameKeepsItsCode() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "a-node-secret-of-some-length\n");
    assertThat(run("node-credential", "--node-secret-file", secret.toString(), "../x")).isEqualTo(2);
    assertThat(err.toString()).contains("repo-server: NAME_INVALID: ", "'../x' is invalid");
  }

  @Test
  void anIoErrorAtStartIsAFailureNotAUsageError() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "a-node-secret-of-some-length\n");
    Path repo = Files.createDirectories(dir.resolve("repo"));
    // The node access list cannot be read (a directory where the file belongs): the server does
    // not start, and its configuration is not what is wrong.
    Files.createDirectories(repo.resolve(".access/nodes.json"));
    assertThat(run("--root", repo.toString(), "--port", "0", "--access-log", "off", "--node-secret-file",
        secret.toString())).isEqualTo(1);
    assertThat(err.toString()).contains("repo-server: IO_ERROR: ", ".access/nodes.json");
  }
}
