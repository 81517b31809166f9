package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.engine.ExitStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
    assertThat(run("delta", "diff", old.toString(), neu.toString(), patch.toString())).isEqualTo(ExitStatus.OK);
    assertThat(out.toString()).contains("bytes for a").contains("verified").hasLineCount(1);
    assertThat(err.toString()).isEmpty();

    Path target = tmp.resolve("out");
    assertThat(run("delta", "apply", old.toString(), patch.toString(), target.toString())).isEqualTo(ExitStatus.OK);
    assertThat(out.toString()).contains("applied").hasLineCount(2);
    assertThat(Files.readString(target.resolve("README"))).isEqualTo("hello, world\n");
    assertThat(Files.readAllBytes(target.resolve("app-1.1.jar"))).isEqualTo(Files.readAllBytes(neu.resolve("app-1.1.jar")));
  }

  /** Script-like lines of random identifiers (unique per seed), as a bundler's chunk. */
  private static String chunk(long seed, int lines) {
    java.util.Random r = new java.util.Random(seed);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      s.append("const v").append(i).append('=');
      for (int k = 0; k < 60; k++) {
        s.append(k % 12 == 11 ? '.' : (char) ('a' + r.nextInt(26)));
      }
      s.append(";\n");
    }
    return s.toString();
  }

  private static byte[] uiJar(String asset, String body) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
      zip.write("Manifest-Version: 1.0\n".getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(new ZipEntry(asset));
      zip.write(body.getBytes(StandardCharsets.UTF_8));
    }
    return bytes.toByteArray();
  }

  /**
   * --explain lists every changed file and zip entry, largest first: how it was encoded, its size,
   * what it was diffed against and how that was found; --top bounds the list.
   */
  @Test
  void explainListsTheContributorsWithTheirSourcesAndTopBoundsTheList() throws IOException {
    String body = chunk(5, 400);
    Files.write(old.resolve("ui-1.0.jar"), uiJar("assets/main-Bla4FTkx.js", body));
    Files.write(neu.resolve("ui-1.1.jar"), uiJar("assets/main-C047jAp3.js", body.replace("const v7=", "const v7b=")));
    Path patch = tmp.resolve("p.delta");

    assertThat(run("delta", "diff", "--explain", "--top", "0", old.toString(), neu.toString(), patch.toString()))
        .isEqualTo(ExitStatus.OK);
    List<String> lines = out.toString().lines().toList();
    assertThat(lines.get(0)).contains("verified");
    // README, the two jars (renamed with the version) and one changed entry in each.
    assertThat(lines.get(1)).startsWith("largest contributors (5 of 5 changed files and zip entries;");
    assertThat(lines.get(2)).contains("bytes").contains("encoding").contains("size").contains("<- source (paired by)");
    assertThat(lines).hasSize(3 + 5);
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(" *[0-9,]+  stream +[0-9,]+  "
        + "ui-1\\.1\\.jar!/assets/main-C047jAp3\\.js  <- ui-1\\.0\\.jar!/assets/main-Bla4FTkx\\.js \\(hash\\)"));
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(" *-  zip +[0-9,]+  ui-1\\.1\\.jar  <- ui-1\\.0\\.jar \\(name\\)"));
    assertThat(lines).anySatisfy(l -> assertThat(l).matches(" *[0-9,]+  group +13  README"));
    assertThat(err.toString()).isEmpty();

    out.getBuffer().setLength(0);
    assertThat(run("delta", "diff", "--explain", "--top", "1", old.toString(), neu.toString(), patch.toString()))
        .isEqualTo(ExitStatus.OK);
    assertThat(out.toString().lines().toList()).hasSize(3 + 1).element(1).asString()
        .startsWith("largest contributors (1 of 5 ");

    out.getBuffer().setLength(0);
    assertThat(run("delta", "diff", old.toString(), neu.toString(), patch.toString())).isEqualTo(ExitStatus.OK);
    assertThat(out.toString()).hasLineCount(1).doesNotContain("largest contributors");

    assertThat(run("delta", "diff", "--explain", "--top", "-1", old.toString(), neu.toString(), patch.toString()))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString()).contains("--top must be 0 (all) or more, not -1");
  }

  @Test
  void singleFilesAndAnExistingDirectoryAsOut() throws IOException {
    Path patch = tmp.resolve("jar.delta");
    assertThat(run("delta", "diff", old.resolve("app-1.0.jar").toString(), neu.resolve("app-1.1.jar").toString(),
        patch.toString())).isEqualTo(ExitStatus.OK);
    Path into = Files.createDirectory(tmp.resolve("into"));
    assertThat(run("delta", "apply", old.resolve("app-1.0.jar").toString(), patch.toString(), into.toString()))
        .isEqualTo(ExitStatus.OK);
    assertThat(Files.readAllBytes(into.resolve("app-1.1.jar"))).isEqualTo(Files.readAllBytes(neu.resolve("app-1.1.jar")));
  }

  @Test
  void aWrongBaseIsRefusedWithExitThree() throws IOException {
    Path patch = tmp.resolve("p.delta");
    run("delta", "diff", old.toString(), neu.toString(), patch.toString());
    assertThat(run("delta", "apply", neu.toString(), patch.toString(), tmp.resolve("out").toString()))
        .isEqualTo(ExitStatus.REFUSED);
    assertThat(err.toString()).startsWith("BASE_MISMATCH: ").hasLineCount(1);
    assertThat(tmp.resolve("out")).doesNotExist();
  }

  @Test
  void aBrokenPatchIsRefusedWithExitThree() throws IOException {
    Path patch = Files.writeString(tmp.resolve("junk.delta"), "not a delta at all, just text");
    assertThat(run("delta", "apply", old.toString(), patch.toString(), tmp.resolve("out").toString()))
        .isEqualTo(ExitStatus.REFUSED);
    assertThat(err.toString()).startsWith("PATCH_MALFORMED: ");
  }

  @Test
  void usageErrorsExitTwo() throws IOException {
    assertThat(run("delta", "diff", old.toString())).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString()).startsWith("USAGE: ").contains("--help");
    assertThat(run("delta")).isEqualTo(ExitStatus.USAGE);
    assertThat(run("delta", "diff", tmp.resolve("missing").toString(), neu.toString(), tmp.resolve("p").toString()))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString()).contains("OLD").contains("does not exist");
    Path patch = tmp.resolve("p.delta");
    run("delta", "diff", old.toString(), neu.toString(), patch.toString());
    assertThat(run("delta", "apply", old.toString(), patch.toString(), neu.toString())).isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString()).contains("already exists");
    assertThat(run("bogus")).isEqualTo(ExitStatus.USAGE);
    assertThat(run("delta", "diff", old.toString(), neu.toString(), tmp.resolve("no/such/dir/p").toString()))
        .isEqualTo(ExitStatus.USAGE);
    assertThat(err.toString()).contains("does not exist");
  }

  @Test
  void anUnreadablePayloadExitsOne() throws IOException {
    Path bad = Files.writeString(tmp.resolve("bad.tar.gz"), "not gzip");
    assertThat(run("delta", "diff", old.toString(), bad.toString(), tmp.resolve("p").toString()))
        .isEqualTo(ExitStatus.FAILED);
    assertThat(err.toString()).startsWith("PAYLOAD_INVALID: ");
  }

  /**
   * The real command, in a JVM with the distribution's options (bin/updater's default
   * UPDATER_JAVA_OPTS: a 64 MiB heap): a delta whose header claims a 64 MiB index is refused
   * with status 3 and one PATCH_MALFORMED line, not an OutOfMemoryError.
   */
  @Test
  @Timeout(120)
  void aForgedIndexLengthIsRefusedInTheDistributionsHeap() throws Exception {
    Path patch = tmp.resolve("p.delta");
    assertThat(run("delta", "diff", old.toString(), neu.toString(), patch.toString())).isEqualTo(ExitStatus.OK);
    byte[] bytes = Files.readAllBytes(patch);
    ByteBuffer.wrap(bytes).putInt(76, 64 << 20); // the index length after decompression
    Path forged = Files.write(tmp.resolve("forged.delta"), bytes);
    Path target = tmp.resolve("out");

    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(distributionOptions());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), UpdaterMain.class.getName(),
        "delta", "apply", old.toString(), forged.toString(), target.toString()));
    Process p = new ProcessBuilder(command).redirectOutput(tmp.resolve("stdout").toFile())
        .redirectError(tmp.resolve("stderr").toFile()).start();
    assertThat(p.waitFor(100, TimeUnit.SECONDS)).isTrue();
    String stderr = Files.readString(tmp.resolve("stderr"));
    assertThat(p.exitValue()).as(stderr).isEqualTo(ExitStatus.REFUSED);
    assertThat(stderr).startsWith("PATCH_MALFORMED: ").hasLineCount(1).doesNotContain("Error");
    assertThat(target).doesNotExist();
  }

  /** bin/updater's default JVM options, read from the script so the test follows it. */
  private static List<String> distributionOptions() throws IOException {
    String script = Files.readString(Path.of("src/dist/bin/updater"), StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("UPDATER_JAVA_OPTS=\\$\\{UPDATER_JAVA_OPTS:-([^}]*)}").matcher(script);
    assertThat(m.find()).as("UPDATER_JAVA_OPTS in bin/updater").isTrue();
    List<String> options = List.of(m.group(1).trim().split("\\s+"));
    assertThat(options).anyMatch(o -> o.startsWith("-Xmx"));
    return options;
  }

  /** Hostile inputs to 'delta diff' end in a typed code and status, never a stack trace. */
  @Test
  void hostileArchivesGiveATypedCodeNotAStackTrace() throws IOException {
    // 20,000 chained GNU long-name headers, then an entry named with a drive letter.
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    for (int i = 0; i < 20_000; i++) {
      tar.writeBytes(tarHeader("././@LongLink", 'L', 2));
      tar.writeBytes(Arrays.copyOf(new byte[] {'x', 0}, 512));
    }
    tar.writeBytes(tarHeader("x", '0', 0));
    tar.writeBytes(new byte[1024]);
    for (byte[] archive : List.of(tar.toByteArray(), concat(tarHeader("app/C:x", '0', 0), new byte[1024]))) {
      Path bad = tmp.resolve("bad-" + archive.length + ".tar.gz");
      try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(bad))) {
        gz.write(archive);
      }
      err.getBuffer().setLength(0);
      assertThat(run("delta", "diff", old.toString(), bad.toString(), tmp.resolve("p").toString()))
          .isEqualTo(ExitStatus.FAILED);
      assertThat(err.toString()).startsWith("PAYLOAD_INVALID: ").hasLineCount(1);
    }
    Path junk = Files.write(tmp.resolve("junk.delta"), Arrays.copyOf("\u0089UKDELTA".getBytes(StandardCharsets.ISO_8859_1),
        200));
    err.getBuffer().setLength(0);
    assertThat(run("delta", "apply", old.toString(), junk.toString(), tmp.resolve("out").toString()))
        .isEqualTo(ExitStatus.REFUSED);
    assertThat(err.toString()).startsWith("PATCH_MALFORMED: ").hasLineCount(1);
  }

  private static byte[] tarHeader(String name, char type, long size) {
    byte[] h = new byte[512];
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(n, 0, h, 0, n.length);
    put(h, 100, "0000644");
    put(h, 124, String.format("%011o", size));
    h[156] = (byte) type;
    put(h, 257, "ustar");
    put(h, 263, "00");
    Arrays.fill(h, 148, 156, (byte) ' ');
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, String.format("%06o", sum));
    h[154] = 0;
    return h;
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void versionAndHelp() {
    assertThat(run("--version")).isEqualTo(ExitStatus.OK);
    assertThat(out.toString()).startsWith("updater ");
    assertThat(run("delta", "apply", "--help")).isEqualTo(ExitStatus.OK);
    assertThat(out.toString()).contains("OLD").contains("PATCH").contains("OUT");
  }
}
