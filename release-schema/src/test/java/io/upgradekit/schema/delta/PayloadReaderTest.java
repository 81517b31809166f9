package io.upgradekit.schema.delta;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.TreeEntry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Archives and directories as payloads, including hostile ones. */
class PayloadReaderTest {
  @TempDir Path tmp;

  /** A tar.gz of entries: {name, kind ("f", "d", "l", "h", "p"), content or link target}. */
  private Path tar(String name, String[]... entries) throws IOException {
    Path archive = tmp.resolve(name);
    try (OutputStream file = Files.newOutputStream(archive);
        GZIPOutputStream gz = new GZIPOutputStream(file);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gz)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (String[] e : entries) {
        TarArchiveEntry entry = switch (e[1]) {
          case "d" -> new TarArchiveEntry(e[0] + "/");
          case "l" -> new TarArchiveEntry(e[0], TarArchiveEntry.LF_SYMLINK);
          case "h" -> new TarArchiveEntry(e[0], TarArchiveEntry.LF_LINK);
          case "p" -> new TarArchiveEntry(e[0], TarArchiveEntry.LF_FIFO);
          default -> new TarArchiveEntry(e[0], true);
        };
        byte[] bytes = e[1].equals("f") ? e[2].getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (e[1].equals("l") || e[1].equals("h")) {
          entry.setLinkName(e[2]);
        }
        entry.setSize(bytes.length);
        tar.putArchiveEntry(entry);
        tar.write(bytes);
        tar.closeArchiveEntry();
      }
    }
    return archive;
  }

  private Path zip(String name, String entryName, byte[] content, int unixMode) throws IOException {
    Path archive = tmp.resolve(name);
    try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(archive)) {
      ZipArchiveEntry e = new ZipArchiveEntry(entryName);
      e.setUnixMode(unixMode);
      zip.putArchiveEntry(e);
      zip.write(content);
      zip.closeArchiveEntry();
    }
    return archive;
  }

  @Test
  void tarWithFilesLinksHardLinksAndEmptyDirectories() throws IOException {
    Path archive = tar("ok.tar.gz",
        new String[] {"./app/", "d", ""},
        new String[] {"app/bin/run", "f", "#!/bin/sh\n"},
        new String[] {"app/logs", "d", ""},
        new String[] {"app/current", "l", "bin/run"},
        new String[] {"app/run-copy", "h", "app/bin/run"});
    try (Payload p = PayloadReader.read(archive, PayloadReader.Options.defaults().withScratch(tmp))) {
      assertThat(p.tree().entries()).extracting(TreeEntry::path)
          .containsExactly("app/bin/run", "app/current", "app/logs", "app/run-copy");
      assertThat(p.tree().entries().get(2).type()).isEqualTo(TreeEntry.EntryType.DIRECTORY);
      assertThat(p.tree().entries().get(3).sha256()).isEqualTo(p.tree().entries().get(0).sha256());
      assertThat(p.root()).startsWith(tmp);
    }
    try (var s = Files.list(tmp)) {
      assertThat(s.filter(f -> f.getFileName().toString().startsWith("payload-"))).as("unpacked copy removed")
          .isEmpty();
    }
  }

  @Test
  void tarEntriesThatEscape() throws IOException {
    for (String[] bad : new String[][] {
        {"../evil.txt", "f", "x"},
        {"/tmp/evil.txt", "f", "x"},
        {"a/../../evil.txt", "f", "x"},
        {"link", "l", "/etc/passwd"},
        {"link", "l", "../outside"},
        {"fifo", "p", ""}}) {
      Path archive = tar("bad.tar.gz", bad);
      assertCode(() -> PayloadReader.read(archive, PayloadReader.Options.defaults().withScratch(tmp)),
          ErrorCode.PAYLOAD_INVALID);
    }
    assertThat(tmp.getParent().resolve("evil.txt")).doesNotExist();
    assertThat(tmp.resolve("evil.txt")).doesNotExist();
    try (var s = Files.list(tmp)) {
      assertThat(s.filter(f -> f.getFileName().toString().startsWith("payload-"))).as("no partial unpack").isEmpty();
    }
  }

  @Test
  void tarEntriesThroughLinksOrTwice() throws IOException {
    Path through = tar("through.tar.gz", new String[] {"d", "l", "."}, new String[] {"d/x", "f", "x"});
    assertCode(() -> PayloadReader.read(through, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path twice = tar("twice.tar.gz", new String[] {"x", "f", "1"}, new String[] {"x", "f", "2"});
    assertCode(() -> PayloadReader.read(twice, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path chain = tar("chain.tar.gz", new String[] {"a/b", "l", ".."}, new String[] {"c", "l", "a/b/.."});
    assertCode(() -> PayloadReader.read(chain, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
  }

  @Test
  void zipEntriesThatEscape() throws IOException {
    Path evil = zip("evil.zip", "../evil.txt", "x".getBytes(StandardCharsets.UTF_8), 0100644);
    assertCode(() -> PayloadReader.read(evil, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path link = zip("link.zip", "link", "../../etc/passwd".getBytes(StandardCharsets.UTF_8), 0120777);
    assertCode(() -> PayloadReader.read(link, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path garbage = Files.write(tmp.resolve("garbage.zip"), "not a zip".getBytes(StandardCharsets.UTF_8));
    assertCode(() -> PayloadReader.read(garbage, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    assertThat(tmp.getParent().resolve("evil.txt")).doesNotExist();
  }

  @Test
  void corruptOrUnsupportedZipEntriesAreRefused() throws IOException {
    byte[] good = new RawZip().entry("a.txt", TestTrees.text(1, 20), null, new byte[0], "", 0, 0).bytes();
    Path ok = Files.write(tmp.resolve("ok.zip"), good);
    try (Payload p = PayloadReader.read(ok, PayloadReader.Options.defaults().withScratch(tmp))) {
      assertThat(p.tree().entries()).singleElement().extracting(TreeEntry::path).isEqualTo("a.txt");
    }
    byte[] corrupt = good.clone();
    corrupt[40] ^= 1; // a data byte of the stored entry: its CRC-32 no longer matches
    Path bad = Files.write(tmp.resolve("corrupt.zip"), corrupt);
    assertCode(() -> PayloadReader.read(bad, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    byte[] bzip2 = good.clone();
    bzip2[8] = 12; // method 12 (bzip2) in the local header
    Path unsupported = Files.write(tmp.resolve("bzip2.zip"), bzip2);
    assertCode(() -> PayloadReader.read(unsupported, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    byte[] encrypted = good.clone();
    encrypted[6] |= 1;
    Path locked = Files.write(tmp.resolve("encrypted.zip"), encrypted);
    assertCode(() -> PayloadReader.read(locked, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
  }

  /**
   * Entry data is read from the archive in chunks: a deflated entry of many chunks unpacks exactly;
   * one whose deflate stream is damaged in its last chunk, or ends before its end marker, is refused.
   */
  @Test
  void deflatedEntriesOfManyChunksUnpackExactlyAndDamageIsFound() throws IOException {
    byte[] content = TestTrees.random(9, 400_000); // deflates to stored blocks: ~6 chunks of 64 KiB
    byte[] text = TestTrees.text(3, 2_000);
    byte[] good = new RawZip().entry("big.bin", content, RawZip.level(6), new byte[0], "", 0, 0)
        .entry("t.txt", text, RawZip.level(9), new byte[0], "", 16, 0).bytes();
    Path ok = Files.write(tmp.resolve("chunks.zip"), good);
    try (Payload p = PayloadReader.read(ok, PayloadReader.Options.defaults().withScratch(tmp))) {
      assertThat(Files.readAllBytes(p.file("big.bin"))).isEqualTo(content);
      assertThat(Files.readAllBytes(p.file("t.txt"))).isEqualTo(text);
    }
    ZipLayout layout = ZipLayout.parse(java.nio.ByteBuffer.wrap(good));
    ZipLayout.Entry big = layout.entries.get(0);
    byte[] damaged = good.clone();
    damaged[big.dataOffset() + big.dataLength() - 100] ^= 1;
    Path bad = Files.write(tmp.resolve("damaged.zip"), damaged);
    assertCode(() -> PayloadReader.read(bad, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    // The text entry's deflate stream without its last bytes, its sizes still claiming all of it.
    ZipLayout.Entry t = layout.entries.get(1);
    byte[] raw = java.util.Arrays.copyOfRange(good, t.dataOffset(), t.dataOffset() + t.dataLength() - 3);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(text);
    Path truncated = Files.write(tmp.resolve("truncated.zip"), new RawZip()
        .entry("big.bin", content, RawZip.level(6), new byte[0], "", 0, 0)
        .rawEntry("t.txt", raw, text.length, crc.getValue()).bytes());
    assertCode(() -> PayloadReader.read(truncated, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
  }

  @Test
  void directoriesWithLinksOutsideAreRefused() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("dir"));
    TestTrees.file(dir, "a.txt", "a");
    TestTrees.symlink(dir, "out", "../../x");
    assertCode(() -> PayloadReader.read(dir), ErrorCode.PAYLOAD_INVALID);
    Files.delete(dir.resolve("out"));
    TestTrees.symlink(dir, "abs", "/etc");
    assertCode(() -> PayloadReader.read(dir), ErrorCode.PAYLOAD_INVALID);
    Files.delete(dir.resolve("abs"));
  }

  /** The portable path rules (TreePaths) hold for every archive kind, as for manifests and deltas. */
  @Test
  void namesThatAreNotPortableAreRefusedInEveryArchive() throws IOException {
    for (String name : new String[] {"C:x", "app/con.txt", "app/a\\b", "app/x.", "app/Aux", "app/a|b"}) {
      Path tar = tar("np.tar.gz", new String[] {name, "f", "x"});
      assertCode(() -> PayloadReader.read(tar, PayloadReader.Options.defaults().withScratch(tmp)),
          ErrorCode.PAYLOAD_INVALID);
      Path zip = zip("np.zip", name, "x".getBytes(StandardCharsets.UTF_8), 0100644);
      assertCode(() -> PayloadReader.read(zip, PayloadReader.Options.defaults().withScratch(tmp)),
          ErrorCode.PAYLOAD_INVALID);
    }
    Path clash = tar("clash.tar.gz", new String[] {"app/README", "f", "1"}, new String[] {"app/readme", "f", "2"});
    assertCode(() -> PayloadReader.read(clash, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path link = tar("link.tar.gz", new String[] {"app/l", "l", "C:x"});
    assertCode(() -> PayloadReader.read(link, PayloadReader.Options.defaults().withScratch(tmp)),
        ErrorCode.PAYLOAD_INVALID);
    Path dir = Files.createDirectory(tmp.resolve("np"));
    TestTrees.file(dir, "a:b", "x");
    assertCode(() -> PayloadReader.read(dir), ErrorCode.PAYLOAD_INVALID);
    Path single = TestTrees.file(tmp, "nul.jar", "x");
    assertCode(() -> PayloadReader.read(single), ErrorCode.PAYLOAD_INVALID);
  }

  /**
   * Tar headers that lie about lengths, or chain metadata without end: each is refused by its cap
   * before anything is read or kept for it (the library reader before this one recursed once per
   * GNU long name, and kept any pax header whole).
   */
  @Test
  void tarHeadersThatLieAreRefusedByTheirCaps() throws IOException {
    RawTar chain = new RawTar();
    for (int i = 0; i < 20_000; i++) {
      chain.header("././@LongLink", 'L', 2).data(new byte[] {'x', 0});
    }
    expectInvalidTar("chain", chain.file("x", "x"), "two GNU long names");

    String big = "x".repeat(TarReader.MAX_METADATA);
    expectInvalidTar("pax", new RawTar().pax("path", "a", "comment", big).file("x", "x"), "more than");
    expectInvalidTar("long", new RawTar().header("././@LongLink", 'L', 5000).data("a".repeat(5000).getBytes(
        StandardCharsets.UTF_8)).file("x", "x"),
        "GNU long name of 5000 bytes");
    expectInvalidTar("paxsize", new RawTar().pax("size", "99999999999999").file("x", "x"), "bytes, more than");
    byte[] base256 = new byte[12];
    base256[0] = (byte) 0x80;
    base256[1] = 0x7f; // 2^87 and more
    expectInvalidTar("b256", new RawTar().header("x".getBytes(StandardCharsets.UTF_8), '0', base256, true),
        "too large");
    expectInvalidTar("sum", new RawTar().header("x".getBytes(StandardCharsets.UTF_8), '0',
        "00000000000".getBytes(StandardCharsets.US_ASCII), false), "checksum");
    expectInvalidTar("utf8", new RawTar().header(new byte[] {'a', (byte) 0xff}, '0',
        "00000000000".getBytes(StandardCharsets.US_ASCII), true), "UTF-8");
    expectInvalidTar("sparse", new RawTar().header("x", 'S', 0), "sparse");
    expectInvalidTar("cut", new RawTar().header("x", '0', 100_000).data(new byte[10]), "ends");
  }

  private void expectInvalidTar(String name, RawTar tar, String why) throws IOException {
    Path archive = tar.writeGzip(tmp.resolve(name + ".tar.gz"));
    assertThatThrownBy(() -> PayloadReader.read(archive, PayloadReader.Options.defaults().withScratch(tmp)))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.PAYLOAD_INVALID);
          assertThat(e.getMessage()).contains(why);
        });
  }

  @Test
  void tarFormatsThatRealToolsWrite() throws IOException {
    Path archive = new RawTar().pax("path", "app/" + "long-name-".repeat(20) + ".txt").file("ignored", "one")
        .header("././@LongLink", 'L', 9).data("app/gnu/\0".getBytes(StandardCharsets.UTF_8))
        .header("ignored", '5', 0).file("app/plain.txt", "two").writeGzip(tmp.resolve("formats.tar.gz"));
    try (Payload p = PayloadReader.read(archive, PayloadReader.Options.defaults().withScratch(tmp))) {
      assertThat(p.tree().entries()).extracting(TreeEntry::path)
          .containsExactly("app/gnu", "app/" + "long-name-".repeat(20) + ".txt", "app/plain.txt");
    }
  }

  @Test
  void aSingleFileIsAOneFileTree() throws IOException {
    Path jar = TestTrees.file(tmp, "app-1.0.jar", "bytes");
    try (Payload p = PayloadReader.read(jar)) {
      assertThat(p.isSingleFile()).isTrue();
      assertThat(p.tree().entries()).singleElement().extracting(TreeEntry::path).isEqualTo("app-1.0.jar");
    }
    try (Payload p = PayloadReader.read(jar, PayloadReader.Options.defaults().withSingleFileName("app.jar"))) {
      assertThat(p.tree().entries()).singleElement().extracting(TreeEntry::path).isEqualTo("app.jar");
    }
  }
}
