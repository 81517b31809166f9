package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DeltaCommandTest {
  @TempDir Path tmp;
  private Path old;
  private Path neu;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void payloads() throws IOException {
    old = Files.createDirectories(tmp.resolve("old"));
    neu = Files.createDirectories(tmp.resolve("new"));
    Files.writeString(old.resolve("README"), "hello\n");
    Files.writeString(neu.resolve("README"), "hello, world\n");
    Files.write(old.resolve("app-1.0.jar"), jar("1.0"));
    Files.write(neu.resolve("app-1.1.jar"), jar("1.1"));
  }

  private static byte[] jar(String version) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (int i = 0; i < 10; i++) {
        zip.putNextEntry(new ZipEntry("C" + i + ".class"));
        zip.write(("class " + i + (i == 3 ? version : "") + " body".repeat(50)).getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toByteArray();
  }

  private int run(String... args) {
    CommandLine cmd = UpdaterMain.commandLine();
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    return cmd.execute(args);
  }

  @Test
  void diffThenApplyReproducesTheNewTree() throws IOException {
    Path patch = tmp.resolve("p.delta");
    assertThat(run("delta", "diff", old.toString(), neu.toString(), patch.toString())).isEqualTo(ExitCodes.OK);
    assertThat(out.toString()).contains("bytes for a").contains("verified").hasLineCount(1);
    assertThat(err.toString()).isEmpty();

    Path target = tmp.resolve("out");
    assertThat(run("delta", "apply", old.toString(), patch.toString(), target.toString())).isEqualTo(ExitCodes.OK);
    assertThat(out.toString()).contains("applied").hasLineCount(2);
    assertThat(Files.readString(target.resolve("README"))).isEqualTo("hello, world\n");
    assertThat(Files.readAllBytes(target.resolve("app-1.1.jar"))).isEqualTo(Files.readAllBytes(neu.resolve("app-1.1.jar")));
  }

  @Test
  void singleFilesAndAnExistingDirectoryAsOut() throws IOException {
    Path patch = tmp.resolve("jar.delta");
    assertThat(run("delta", "diff", old.resolve("app-1.0.jar").toString(), neu.resolve("app-1.1.jar").toString(),
        patch.toString())).isEqualTo(ExitCodes.OK);
    Path into = Files.createDirectory(tmp.resolve("into"));
    assertThat(run("delta", "apply", old.resolve("app-1.0.jar").toString(), patch.toString(), into.toString()))
        .isEqualTo(ExitCodes.OK);
    assertThat(Files.readAllBytes(into.resolve("app-1.1.jar"))).isEqualTo(Files.readAllBytes(neu.resolve("app-1.1.jar")));
  }

  @Test
  void aWrongBaseIsRefusedWithExitThree() throws IOException {
    Path patch = tmp.resolve("p.delta");
    run("delta", "diff", old.toString(), neu.toString(), patch.toString());
    assertThat(run("delta", "apply", neu.toString(), patch.toString(), tmp.resolve("out").toString()))
        .isEqualTo(ExitCodes.REFUSED);
    assertThat(err.toString()).startsWith("BASE_MISMATCH: ").hasLineCount(1);
    assertThat(tmp.resolve("out")).doesNotExist();
  }

  @Test
  void aBrokenPatchIsRefusedWithExitThree() throws IOException {
    Path patch = Files.writeString(tmp.resolve("junk.delta"), "not a delta at all, just text");
    assertThat(run("delta", "apply", old.toString(), patch.toString(), tmp.resolve("out").toString()))
        .isEqualTo(ExitCodes.REFUSED);
    assertThat(err.toString()).startsWith("PATCH_MALFORMED: ");
  }

  @Test
  void usageErrorsExitTwo() throws IOException {
    assertThat(run("delta", "diff", old.toString())).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).startsWith("USAGE: ").contains("--help");
    assertThat(run("delta")).isEqualTo(ExitCodes.USAGE);
    assertThat(run("delta", "diff", tmp.resolve("missing").toString(), neu.toString(), tmp.resolve("p").toString()))
        .isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("OLD").contains("does not exist");
    Path patch = tmp.resolve("p.delta");
    run("delta", "diff", old.toString(), neu.toString(), patch.toString());
    assertThat(run("delta", "apply", old.toString(), patch.toString(), neu.toString())).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("already exists");
    assertThat(run("bogus")).isEqualTo(ExitCodes.USAGE);
    assertThat(run("delta", "diff", old.toString(), neu.toString(), tmp.resolve("no/such/dir/p").toString()))
        .isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("does not exist");
  }

  @Test
  void anUnreadablePayloadExitsOne() throws IOException {
    Path bad = Files.writeString(tmp.resolve("bad.tar.gz"), "not gzip");
    assertThat(run("delta", "diff", old.toString(), bad.toString(), tmp.resolve("p").toString()))
        .isEqualTo(ExitCodes.FAILED);
    assertThat(err.toString()).startsWith("PAYLOAD_INVALID: ");
  }

  @Test
  void versionAndHelp() {
    assertThat(run("--version")).isEqualTo(ExitCodes.OK);
    assertThat(out.toString()).startsWith("updater ");
    assertThat(run("delta", "apply", "--help")).isEqualTo(ExitCodes.OK);
    assertThat(out.toString()).contains("OLD").contains("PATCH").contains("OUT");
  }
}
