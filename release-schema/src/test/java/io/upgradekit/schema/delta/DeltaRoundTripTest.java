package io.upgradekit.schema.delta;

import static io.upgradekit.schema.delta.TestTrees.assertSameTree;
import static io.upgradekit.schema.delta.TestTrees.dir;
import static io.upgradekit.schema.delta.TestTrees.executable;
import static io.upgradekit.schema.delta.TestTrees.file;
import static io.upgradekit.schema.delta.TestTrees.inode;
import static io.upgradekit.schema.delta.TestTrees.jar;
import static io.upgradekit.schema.delta.TestTrees.random;
import static io.upgradekit.schema.delta.TestTrees.symlink;
import static io.upgradekit.schema.delta.TestTrees.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.delta.DeltaApplier.ApplyRequest;
import io.upgradekit.schema.delta.DeltaApplier.ApplyResult;
import io.upgradekit.schema.delta.DeltaBuilder.DiffRequest;
import io.upgradekit.schema.delta.DeltaBuilder.DiffResult;
import io.upgradekit.schema.model.PayloadTree;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeltaRoundTripTest {
  @TempDir Path tmp;

  private DiffResult diff(Path old, Path neu, Path delta) throws IOException {
    List<DeltaEvent> events = new ArrayList<>();
    DiffResult r = DeltaBuilder.diff(DiffRequest.of(old, neu, delta).withListener(events::add));
    assertThat(events).extracting(DeltaEvent::stage).contains(DeltaEvent.Stage.VERIFY, DeltaEvent.Stage.DONE);
    assertThat(Files.size(delta)).isEqualTo(r.deltaSize());
    return r;
  }

  private ApplyResult apply(Path old, Path delta, Path out) {
    return DeltaApplier.apply(ApplyRequest.of(old, delta, out));
  }

  @Test
  void treeRoundTripKeepsBytesModesLinksAndEmptyDirectories() throws IOException {
    Path old = tmp.resolve("old");
    Path neu = tmp.resolve("new");
    byte[] big = random(1, 3 << 20);
    for (Path root : List.of(old, neu)) {
      file(root, "README.txt", "same everywhere\n");
      file(root, "empty.txt", new byte[0]);
      executable(root, "bin/run", "#!/bin/sh\necho run\n");
      dir(root, "logs");
      symlink(root, "lib/current", "app-1.jar");
    }
    file(old, "conf/app.properties", text(2, 400));
    file(neu, "conf/app.properties", new String(text(2, 400), StandardCharsets.UTF_8).replace("value=1", "value=7"));
    file(old, "data/big.bin", big);
    big[12345] ^= 1;
    big[2_000_000] ^= 1;
    file(neu, "data/big.bin", big);
    file(old, "docs/guide.txt", text(3, 200));
    file(neu, "docs/moved/guide.txt", text(3, 200));
    file(old, "gone.txt", "deleted in new\n");
    file(old, "tool.sh", "#!/bin/sh\n");
    executable(neu, "tool.sh", "#!/bin/sh\n");
    file(old, "lib/app-1.jar", jar(new String[][] {{"a.txt", "alpha"}, {"b.txt", "bravo"}, {"c.txt", "charlie"}}));
    file(neu, "lib/app-2.jar", jar(new String[][] {{"a.txt", "alpha"}, {"b.txt", "bravo two"}, {"d.txt", "delta"}}));
    file(neu, "new-empty.txt", new byte[0]);
    dir(neu, "var/cache");
    symlink(neu, "current", "lib/app-2.jar");

    Path delta = tmp.resolve("d.delta");
    DiffResult r = diff(old, neu, delta);
    Path out = tmp.resolve("out");
    ApplyResult a = apply(old, delta, out);

    assertSameTree(out, neu);
    assertThat(a.target()).isEqualTo(r.target());
    assertThat(r.rebuilt()).as("the renamed jar is rebuilt entry by entry").isEqualTo(1);
    assertThat(r.copied()).as("moved guide").isGreaterThanOrEqualTo(1);
    assertThat(r.deltaSize()).as("a few flipped bits of a 3 MiB file").isLessThan(20_000);
    assertThat(inode(out.resolve("README.txt"))).as("unchanged files are hard links").isEqualTo(inode(old.resolve("README.txt")));
    assertThat(inode(out.resolve("tool.sh"))).as("a mode change is a copy").isNotEqualTo(inode(old.resolve("tool.sh")));
    assertThat(Files.getPosixFilePermissions(old.resolve("tool.sh"))).doesNotContain(PosixFilePermission.OWNER_EXECUTE);
    assertThat(Files.getPosixFilePermissions(out.resolve("tool.sh"))).contains(PosixFilePermission.OWNER_EXECUTE);
  }

  @Test
  void zipsWithUnusualEntriesAreRebuiltExactly() throws IOException {
    byte[] old = unusualZip("1.0", text(10, 300));
    byte[] neu = unusualZip("1.1", text(11, 300));
    Path oldJar = file(tmp, "old/app.jar", old);
    Path newJar = file(tmp, "new/app.jar", neu);
    Path delta = tmp.resolve("d.delta");
    DiffResult r = diff(oldJar, newJar, delta);
    Path out = tmp.resolve("out.jar");
    apply(oldJar, delta, out);

    assertThat(Files.readAllBytes(out)).isEqualTo(neu);
    assertThat(r.rebuilt()).as("entry-level despite the odd entries").isEqualTo(1);
    assertThat(r.deltaSize()).isLessThan(neu.length / 2);
  }

  /** Stored, level 1 and 9, descriptors with and without signature, extras, comments, a prefix, a
   * gap, and a Huffman-only entry the JDK's default strategy cannot reproduce. */
  private static byte[] unusualZip(String version, byte[] changing) {
    byte[] extra = {(byte) 0xfe, (byte) 0xca, 2, 0, 7, 7};
    return new RawZip()
        .prefix("#!/bin/sh\nexec java -jar \"$0\" \"$@\"\n".getBytes(StandardCharsets.UTF_8))
        .entry("META-INF/MANIFEST.MF", ("Version: " + version + "\n").getBytes(StandardCharsets.UTF_8), null,
            new byte[0], "", 0, 0x5a2e6000)
        .entry("stored.txt", text(1, 50), null, extra, "a comment", 0, 0x5a2e6000)
        .entry("level1.txt", text(2, 200), RawZip.level(1), new byte[0], "", 16, 0x5a2e6000)
        .entry("level9.txt", changing, RawZip.level(9), extra, "", 12, 0x5a2e6000)
        .gap(7)
        .entry("huffman.txt", text(version.hashCode(), 100), RawZip.huffmanOnly(), new byte[0], "", 16, 0x5a2e6000)
        .entry("changed.txt", ("v" + version + "\n").repeat(100).getBytes(StandardCharsets.UTF_8), RawZip.level(6),
            new byte[0], "", 16, 0x5a2e6000)
        .comment("archive comment " + version)
        .bytes();
  }

  @Test
  void nestedJarsAreRebuiltRecursively() throws IOException {
    byte[] oldInner = jar(classes(20, "1.0"));
    byte[] newInner = jar(classes(20, "1.1"));
    Path oldJar = file(tmp, "old/app.jar", fatJar(oldInner, "1.0"));
    Path newJar = file(tmp, "new/app.jar", fatJar(newInner, "1.1"));
    Path delta = tmp.resolve("d.delta");
    DiffResult r = diff(oldJar, newJar, delta);
    Path out = tmp.resolve("out.jar");
    apply(oldJar, delta, out);

    assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(newJar));
    assertThat(r.rebuilt()).isEqualTo(1);
    assertThat(r.deltaSize()).as("only the changed classes of the nested jars").isLessThan(newInner.length / 3);
  }

  private static String[][] classes(int n, String version) {
    String[][] entries = new String[n][];
    for (int i = 0; i < n; i++) {
      entries[i] = new String[] {"com/example/C" + i + ".class",
          "class C" + i + " version " + (i % 5 == 0 ? version : "stable") + " " + "body ".repeat(200)};
    }
    return entries;
  }

  /** A Spring Boot style jar: a stored nested jar (versioned name) and a deflated one. */
  private static byte[] fatJar(byte[] inner, String version) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      ZipEntry manifest = new ZipEntry("META-INF/MANIFEST.MF");
      manifest.setTime(1_700_000_000_000L);
      zip.putNextEntry(manifest);
      zip.write(("Main-Class: x\nVersion: " + version + "\n").getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(TestTrees.stored("BOOT-INF/lib/inner-" + version + ".jar", inner));
      zip.write(inner);
      ZipEntry deflated = new ZipEntry("BOOT-INF/lib/packed.jar");
      deflated.setTime(1_700_000_000_000L);
      zip.putNextEntry(deflated);
      zip.write(inner);
    }
    return bytes.toByteArray();
  }

  @Test
  void filesThatOnlyLookLikeZipsArePatchedAsFiles() throws IOException {
    byte[] old = random(5, 50_000);
    old[0] = 'P';
    old[1] = 'K';
    old[2] = 3;
    old[3] = 4;
    byte[] neu = old.clone();
    neu[40_000] ^= 0x55;
    Path oldFile = file(tmp, "old/x.jar", old);
    Path newFile = file(tmp, "new/x.jar", neu);
    Path delta = tmp.resolve("d.delta");
    DiffResult r = diff(oldFile, newFile, delta);
    apply(oldFile, delta, tmp.resolve("out.jar"));
    assertThat(Files.readAllBytes(tmp.resolve("out.jar"))).isEqualTo(neu);
    assertThat(r.rebuilt()).isZero();
    assertThat(r.patched()).isEqualTo(1);
  }

  @Test
  void fullPackageIsADeltaFromTheEmptyTree() throws IOException {
    Path neu = tmp.resolve("new");
    file(neu, "a.txt", text(1, 100));
    executable(neu, "bin/x", "#!/bin/sh\n");
    symlink(neu, "link", "a.txt");
    dir(neu, "empty");
    file(neu, "lib/app.jar", jar(classes(5, "1")));
    Path delta = tmp.resolve("full.delta");
    DiffResult r = DeltaBuilder.diff(DiffRequest.of(null, neu, delta));
    assertThat(r.base()).isEqualTo(PayloadTree.empty());
    assertThat(DeltaApplier.readHeader(delta).baseTreeHash()).isEqualTo(PayloadTree.empty().treeHash());

    apply(null, delta, tmp.resolve("out"));
    assertSameTree(tmp.resolve("out"), neu);
    Path empty = Files.createDirectory(tmp.resolve("nothing"));
    apply(empty, delta, tmp.resolve("out2"));
    assertSameTree(tmp.resolve("out2"), neu);
  }

  @Test
  void singleFilePayloadsMayBeRenamedAndLandInADirectory() throws IOException {
    Path oldJar = file(tmp, "old/lib-1.0.jar", jar(classes(10, "1.0")));
    Path newJar = file(tmp, "new/lib-1.1.jar", jar(classes(10, "1.1")));
    Path delta = tmp.resolve("d.delta");
    diff(oldJar, newJar, delta);
    DeltaHeader header = DeltaApplier.readHeader(delta);
    assertThat(header.baseIsSingleFile()).isTrue();
    assertThat(header.targetIsSingleFile()).isTrue();

    Path installed = Files.copy(oldJar, tmp.resolve("installed.jar"));
    Path into = Files.createDirectory(tmp.resolve("into"));
    ApplyResult a = apply(installed, delta, into);
    assertThat(a.out()).isEqualTo(into.resolve("lib-1.1.jar"));
    assertThat(Files.readAllBytes(a.out())).isEqualTo(Files.readAllBytes(newJar));
  }

  @Test
  void archivesArePayloadsToo() throws IOException {
    Path old = tmp.resolve("old");
    Path neu = tmp.resolve("new");
    file(old, "app-1.0/lib/core-1.0.jar", jar(classes(8, "1.0")));
    file(neu, "app-1.1/lib/core-1.1.jar", jar(classes(8, "1.1")));
    for (Path root : List.of(old, neu)) {
      executable(root, root == old ? "app-1.0/bin/app" : "app-1.1/bin/app", "#!/bin/sh\n");
      symlink(root, (root == old ? "app-1.0" : "app-1.1") + "/lib/core.jar", root == old ? "core-1.0.jar" : "core-1.1.jar");
      dir(root, (root == old ? "app-1.0" : "app-1.1") + "/logs");
    }
    Path oldTgz = tarGz(old, tmp.resolve("old.tar.gz"));
    Path newZip = zip(neu, tmp.resolve("new.zip"));
    Path delta = tmp.resolve("d.delta");
    DiffResult r = diff(oldTgz, newZip, delta);
    assertThat(r.rebuilt()).as("jar paired with its predecessor despite the version in its path").isEqualTo(1);

    apply(oldTgz, delta, tmp.resolve("out"));
    assertSameTree(tmp.resolve("out"), neu);
    apply(old, delta, tmp.resolve("out2"));
    assertSameTree(tmp.resolve("out2"), neu);
  }

  @Test
  void deltasAreDeterministic() throws IOException {
    Path old = tmp.resolve("old");
    Path neu = tmp.resolve("new");
    for (int i = 0; i < 12; i++) {
      file(old, "f" + i + ".txt", text(i, 50));
      file(neu, "f" + i + ".txt", text(i + (i % 3 == 0 ? 100 : 0), 50));
      file(old, "lib/j" + i + ".jar", jar(classes(4, "1")));
      file(neu, "lib/j" + i + ".jar", jar(classes(4, i % 2 == 0 ? "2" : "1")));
    }
    diff(old, neu, tmp.resolve("a.delta"));
    DeltaBuilder.diff(DiffRequest.of(old, neu, tmp.resolve("b.delta")).withThreads(1));
    assertThat(Files.readAllBytes(tmp.resolve("a.delta"))).isEqualTo(Files.readAllBytes(tmp.resolve("b.delta")));
  }

  static Path tarGz(Path root, Path archive) throws IOException {
    try (OutputStream file = Files.newOutputStream(archive);
        GZIPOutputStream gz = new GZIPOutputStream(file);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gz)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      List<Path> paths;
      try (var s = Files.walk(root)) {
        paths = s.filter(p -> !p.equals(root)).sorted().toList();
      }
      for (Path p : paths) {
        String name = root.relativize(p).toString();
        TarArchiveEntry e;
        if (Files.isSymbolicLink(p)) {
          e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
          e.setLinkName(Files.readSymbolicLink(p).toString());
        } else if (Files.isDirectory(p)) {
          e = new TarArchiveEntry(name + "/");
        } else {
          e = new TarArchiveEntry(name);
          e.setSize(Files.size(p));
          e.setMode(Files.isExecutable(p) ? 0100755 : 0100644);
        }
        tar.putArchiveEntry(e);
        if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.copy(p, tar);
        }
        tar.closeArchiveEntry();
      }
    }
    return archive;
  }

  static Path zip(Path root, Path archive) throws IOException {
    try (org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream zip =
        new org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream(archive)) {
      List<Path> paths;
      try (var s = Files.walk(root)) {
        paths = s.filter(p -> !p.equals(root)).sorted().toList();
      }
      for (Path p : paths) {
        String name = root.relativize(p).toString();
        var e = new org.apache.commons.compress.archivers.zip.ZipArchiveEntry(
            Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? name + "/" : name);
        if (Files.isSymbolicLink(p)) {
          e.setUnixMode(0120777);
          zip.putArchiveEntry(e);
          zip.write(Files.readSymbolicLink(p).toString().getBytes(StandardCharsets.UTF_8));
        } else if (Files.isDirectory(p)) {
          e.setUnixMode(040755);
          zip.putArchiveEntry(e);
        } else {
          e.setUnixMode(Files.isExecutable(p) ? 0100755 : 0100644);
          zip.putArchiveEntry(e);
          Files.copy(p, zip);
        }
        zip.closeArchiveEntry();
      }
    }
    return archive;
  }
}
