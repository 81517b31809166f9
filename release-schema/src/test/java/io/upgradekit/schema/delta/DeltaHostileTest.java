package io.upgradekit.schema.delta;

import static io.upgradekit.schema.Fixtures.assertCode;
import static io.upgradekit.schema.delta.TestTrees.file;
import static io.upgradekit.schema.delta.TestTrees.jar;
import static io.upgradekit.schema.delta.TestTrees.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.DeltaApplier.ApplyRequest;
import io.upgradekit.schema.delta.DeltaBuilder.DiffRequest;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TreePaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deltas that lie: every one must end in PATCH_MALFORMED, HASH_MISMATCH or BASE_MISMATCH, never in
 * another exception, and must leave nothing behind.
 */
class DeltaHostileTest {
  private static final Set<ErrorCode> REFUSALS =
      Set.of(ErrorCode.PATCH_MALFORMED, ErrorCode.HASH_MISMATCH, ErrorCode.BASE_MISMATCH);

  @TempDir Path tmp;
  private Path old;
  private Path neu;
  private Path outDir;
  private PayloadTree base;

  @BeforeEach
  void trees() throws IOException {
    old = tmp.resolve("old");
    neu = tmp.resolve("new");
    file(old, "a.txt", text(1, 40));
    file(old, "lib/app-1.jar", jar(new String[][] {{"x.txt", "one"}, {"y.txt", new String(text(2, 30))}}));
    file(old, "same.txt", "same");
    file(neu, "a.txt", text(3, 40));
    file(neu, "lib/app-2.jar", jar(new String[][] {{"x.txt", "two"}, {"y.txt", new String(text(2, 30))}}));
    file(neu, "same.txt", "same");
    file(neu, "new.bin", TestTrees.random(4, 300));
    outDir = Files.createDirectory(tmp.resolve("outs"));
    base = TreeScanner.scan(old, 1);
  }

  private byte[] validDelta() throws IOException {
    Path delta = tmp.resolve("valid.delta");
    DeltaBuilder.diff(DiffRequest.of(old, neu, delta).withScratch(tmp));
    return Files.readAllBytes(delta);
  }

  /** Applies {@code bytes} as a delta and returns the error code, or null on success. */
  private ErrorCode apply(byte[] bytes) throws IOException {
    Path delta = Files.write(tmp.resolve("hostile.delta"), bytes);
    Path out = outDir.resolve("out");
    try {
      DeltaApplier.apply(ApplyRequest.of(old, delta, out));
      TestTrees.assertSameTree(out, neu);
      TestTrees.deleteTree(out);
      return null;
    } catch (UpgradeException e) {
      assertThat(e.code()).as(e.toString()).isIn(REFUSALS);
      assertThat(TestTrees.count(outDir)).as("nothing left behind after " + e).isEqualTo(1);
      return e.code();
    } catch (RuntimeException | Error e) {
      throw new AssertionError("not a documented failure: " + e, e);
    }
  }

  @Test
  void wrongMagicVersionOrFlags() throws IOException {
    byte[] valid = validDelta();
    assertThat(apply(valid)).isNull();
    for (int at : new int[] {0, 7, 9, 11}) {
      byte[] bad = valid.clone();
      bad[at] ^= 0x40;
      assertThat(apply(bad)).isEqualTo(ErrorCode.PATCH_MALFORMED);
    }
  }

  @Test
  void everyTruncationIsRefused() throws IOException {
    byte[] valid = validDelta();
    for (int n = 0; n < valid.length; n++) {
      assertThat(apply(Arrays.copyOf(valid, n))).as("cut at " + n).isEqualTo(ErrorCode.PATCH_MALFORMED);
    }
    byte[] longer = Arrays.copyOf(valid, valid.length + 1);
    assertThat(apply(longer)).as("trailing byte").isEqualTo(ErrorCode.PATCH_MALFORMED);
  }

  @Test
  void everyFlippedByteIsRefusedOrHarmless() throws IOException {
    byte[] valid = validDelta();
    // Every byte of header and index, and a sample of the patch bytes (the codec checks those).
    int dataStart = (int) DeltaHeader.read(java.nio.ByteBuffer.wrap(valid)).dataOffset();
    for (int at = 0; at < valid.length; at += at < dataStart ? 1 : 7) {
      for (int bit : new int[] {0x01, 0x80}) {
        byte[] bad = valid.clone();
        bad[at] ^= bit;
        apply(bad);
      }
    }
  }

  @Test
  void aDeltaForAnotherBaseIsRefusedBeforeAnythingIsWritten() throws IOException {
    Path delta = tmp.resolve("d.delta");
    DeltaBuilder.diff(DiffRequest.of(old, neu, delta));
    file(old, "a.txt", "edited by hand\n");
    assertCode(() -> DeltaApplier.apply(ApplyRequest.of(old, delta, outDir.resolve("out"))), ErrorCode.BASE_MISMATCH);
    assertThat(TestTrees.count(outDir)).isEqualTo(1);
  }

  @Test
  void aDeltaForAnotherTargetIsRefusedWhenTheManifestSaysSo() throws IOException {
    Path delta = tmp.resolve("d.delta");
    DeltaBuilder.diff(DiffRequest.of(old, neu, delta));
    assertCode(() -> DeltaApplier.apply(ApplyRequest.of(old, delta, outDir.resolve("out"))
        .withExpectedTargetTreeHash(PayloadTree.empty().treeHash())), ErrorCode.HASH_MISMATCH);
  }

  private String hashOf(TreeEntry... entries) {
    return new PayloadTree(List.of(entries)).treeHash();
  }

  private void expectMalformed(byte[] delta) throws IOException {
    assertThat(apply(delta)).isEqualTo(ErrorCode.PATCH_MALFORMED);
  }

  @Test
  void pathsThatEscapeTheTree() throws IOException {
    DeltaForge f = new DeltaForge(base).begin(1).path("../evil");
    f.index.u8(DeltaFormat.DIRECTORY);
    expectMalformed(f.build(hashOf()));
    assertThat(tmp.resolve("evil")).doesNotExist();

    DeltaForge abs = new DeltaForge(base).begin(1).path("/etc/evil");
    abs.index.u8(DeltaFormat.DIRECTORY);
    expectMalformed(abs.build(hashOf()));
  }

  /** Names in a delta follow the same portable rules as manifests and archives (TreePaths). */
  @Test
  void namesThatAreNotPortable() throws IOException {
    for (String name : List.of("C:x", "con.txt", "a\\b", "x.", "LPT1")) {
      DeltaForge f = new DeltaForge(base).begin(1).path(name);
      f.index.u8(DeltaFormat.DIRECTORY);
      expectMalformed(f.build(forgedHash(line("DIRECTORY", name, ""))));
    }
    DeltaForge link = new DeltaForge(base).begin(1).path("link");
    link.index.u8(DeltaFormat.SYMLINK).string("C:x");
    expectMalformed(link.build(forgedHash(line("SYMLINK", "link", "C:x"))));

    DeltaForge clash = new DeltaForge(base).begin(2).path("README");
    clash.index.u8(DeltaFormat.DIRECTORY);
    clash.path("readme");
    clash.index.u8(DeltaFormat.DIRECTORY);
    expectMalformed(clash.build(forgedHash(line("DIRECTORY", "README", ""), line("DIRECTORY", "readme", ""))));
  }

  @Test
  void aBaseNameThatIsNotOneSafeFileName() throws IOException {
    for (String name : List.of("../app.jar", "a/b.jar", "C:app.jar", "con.jar", "")) {
      byte[] bytes = DeltaForge.assemble(DeltaFormat.FLAG_BASE_SINGLE_FILE, name, base, hashOf(), new byte[1],
          new byte[1], new byte[0]);
      assertCode(() -> DeltaHeader.read(java.nio.ByteBuffer.wrap(bytes)), ErrorCode.PATCH_MALFORMED);
    }
  }

  /**
   * A tree hash computed the way PayloadTree does, for entries PayloadTree itself refuses: the
   * delta's index must be refused for its names, not for a hash that does not match.
   */
  private static String forgedHash(String... lines) {
    return Hashes.sha256(String.join("", lines).getBytes(StandardCharsets.UTF_8));
  }

  private static String line(String type, String path, String target) {
    // TYPE, path, size 0, no hash, not executable, target (PayloadTree.treeHash()).
    return type + "\0" + path + "\0" + "0" + "\0" + "" + "\0" + "-" + "\0" + target + "\n";
  }

  @Test
  void linksThatLeadOutside() throws IOException {
    DeltaForge direct = new DeltaForge(base).begin(1).path("link");
    direct.index.u8(DeltaFormat.SYMLINK).string("../../etc/passwd");
    expectMalformed(direct.build(hashOf()));

    // Each link is "inside" on its own; followed through each other they escape.
    DeltaForge chain = new DeltaForge(base).begin(2).path("a/b");
    chain.index.u8(DeltaFormat.SYMLINK).string("..");
    chain.path("c");
    chain.index.u8(DeltaFormat.SYMLINK).string("a/b/..");
    expectMalformed(chain.build(hashOf(TreeEntry.symlink("a/b", ".."), TreeEntry.symlink("c", "a/b/.."))));
  }

  /**
   * Resolving a tree's links is bounded in work too: here every link goes through "h" 40 times,
   * and "h" walks 340 segments down and back up each time.
   */
  @Test
  void linksThatTakeTooManyStepsToResolve() {
    List<TreeEntry> links = new java.util.ArrayList<>();
    links.add(TreeEntry.symlink("h", "x/".repeat(169) + "x" + "/..".repeat(170)));
    String through = "h/".repeat(39) + "h";
    int steps = 40 * 341; // per link
    for (int i = 0; i < TreeShape.MAX_STEPS / steps + 10; i++) {
      links.add(TreeEntry.symlink(String.format("l%06d", i), through));
    }
    assertThatThrownBy(() -> TreeShape.require(new PayloadTree(links), ErrorCode.PATCH_MALFORMED))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
          assertThat(e.getMessage()).contains("steps");
        });
    TreeShape.require(new PayloadTree(links.subList(0, 100)), ErrorCode.PATCH_MALFORMED);
  }

  @Test
  void entriesUnderFilesOrLinks() throws IOException {
    DeltaForge f = new DeltaForge(base).begin(2).path("link");
    f.index.u8(DeltaFormat.SYMLINK).string(".");
    f.path("link/x");
    f.index.u8(DeltaFormat.DIRECTORY);
    expectMalformed(f.build(hashOf(TreeEntry.symlink("link", "."), TreeEntry.directory("link/x"))));
  }

  @Test
  void lengthsPastCapsAndOverflowingValues() throws IOException {
    // A file larger than any delta may produce.
    DeltaForge huge = new DeltaForge(base).begin(1).path("x");
    huge.index.u8(DeltaFormat.PATCH).varint(DeltaFormat.MAX_FILE_SIZE + 1).bytes(new byte[32]).varint(0).u8(3).varint(1);
    expectMalformed(huge.data(new byte[1]).build(hashOf()));

    // A varint of ten bytes.
    DeltaForge overflow = new DeltaForge(base).begin(1).path("x");
    overflow.index.u8(DeltaFormat.PATCH);
    for (int i = 0; i < 10; i++) {
      overflow.index.u8(0xff);
    }
    overflow.index.u8(1);
    expectMalformed(overflow.build(hashOf()));

    // A group whose meta stream is larger than the cap.
    ByteWriter groups = new ByteWriter();
    groups.varint(base.entries().size()).varint(0).varint(1).u8(3).varint(DeltaFormat.MAX_META + 1L).varint(1).u8(0).varint(0);
    expectMalformed(DeltaForge.assemble(base, hashOf(), groups.toByteArray(),
        DeltaForge.compress(groups.toByteArray(), DeltaFormat.indexDictionary(base)), new byte[1]));

    // A copy from an old entry that does not exist, and a negative (zigzag) old entry in a zip.
    DeltaForge copy = new DeltaForge(base).begin(1).path("x");
    copy.index.u8(DeltaFormat.COPY).varint(base.entries().size());
    expectMalformed(copy.build(hashOf()));

    // An index header that claims more than the cap.
    byte[] valid = validDelta();
    byte[] bad = valid.clone();
    bad[76] = 0x7f;
    expectMalformed(bad);
  }

  private void expectMalformed(byte[] delta, String why) throws IOException {
    Path file = Files.write(tmp.resolve("forged.delta"), delta);
    try {
      DeltaApplier.apply(ApplyRequest.of(old, file, outDir.resolve("out")));
      fail("applied a delta that should be refused for: " + why);
    } catch (UpgradeException e) {
      assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.PATCH_MALFORMED);
      assertThat(e.getMessage()).contains(why);
    }
    assertThat(TestTrees.count(outDir)).as("nothing left behind").isEqualTo(1);
  }

  /** An index of groups (none) and then {@code entries} raw entry bytes. */
  private byte[] index(int count, ByteWriter entries) {
    ByteWriter w = new ByteWriter();
    w.varint(base.entries().size()).varint(0).varint(0).varint(count).bytes(entries.toByteArray());
    byte[] bytes = w.toByteArray();
    return DeltaForge.assemble(base, hashOf(), bytes, DeltaForge.compress(bytes, DeltaFormat.indexDictionary(base)),
        new byte[0]);
  }

  /** A ZIP entry "z.jar" built from base file 0 whose program starts with these fields. */
  private byte[] zip(long... programFields) {
    ByteWriter e = new ByteWriter();
    DeltaIndex.writePath(e, new byte[0], "z.jar");
    e.u8(DeltaFormat.ZIP).varint(1000).bytes(new byte[32]).varint(0).varint(0);
    for (long v : programFields) {
      e.varint(v);
    }
    ByteWriter w = new ByteWriter();
    w.varint(base.entries().size()).varint(0).varint(1).u8(0).u8(0).varint(1).bytes(e.toByteArray());
    byte[] bytes = w.toByteArray();
    return DeltaForge.assemble(base, hashOf(), bytes, DeltaForge.compress(bytes, DeltaFormat.indexDictionary(base)),
        new byte[0]);
  }

  /**
   * Every length a delta carries, forged: each is checked against the bytes that are there and
   * its cap before anything is allocated or read for it (SmallHeapHostileTest runs the worst of
   * them in the distribution's heap).
   */
  @Test
  void forgedLengthsInEveryStructure() throws IOException {
    byte[] valid = validDelta();
    DeltaHeader header = DeltaHeader.read(java.nio.ByteBuffer.wrap(valid));
    // Header: the decompressed index length (checked against the frame, which records its size),
    // the compressed length (against the file), a base name's length (against the file).
    byte[] indexLength = valid.clone();
    java.nio.ByteBuffer.wrap(indexLength).putInt(76, header.indexLength() + 1);
    expectMalformed(indexLength, "claims " + header.indexLength());
    byte[] compressed = valid.clone();
    java.nio.ByteBuffer.wrap(compressed).putInt(80, valid.length - DeltaFormat.FIXED_HEADER + 1);
    expectMalformed(compressed, "past the end");
    byte[] name = Arrays.copyOf(valid, DeltaFormat.FIXED_HEADER + 2);
    name[11] |= DeltaFormat.FLAG_BASE_SINGLE_FILE;
    name[DeltaFormat.FIXED_HEADER] = (byte) 0xff;
    assertCode(() -> DeltaHeader.read(java.nio.ByteBuffer.wrap(name)), ErrorCode.PATCH_MALFORMED);

    // Index counts and lengths.
    expectMalformed(index(PayloadTree.MAX_ENTRIES + 1, new ByteWriter()), "entry count");
    ByteWriter groups = new ByteWriter();
    groups.varint(base.entries().size()).varint(0).varint(DeltaFormat.MAX_GROUPS + 1);
    byte[] g = groups.toByteArray();
    expectMalformed(DeltaForge.assemble(base, hashOf(), g, DeltaForge.compress(g, DeltaFormat.indexDictionary(base)),
        new byte[0]), "group count");
    expectMalformed(index(1, new ByteWriter().varint(0).varint(TreePaths.MAX_PATH_BYTES + 1)), "path length");
    ByteWriter link = new ByteWriter();
    DeltaIndex.writePath(link, new byte[0], "l");
    link.u8(DeltaFormat.SYMLINK).varint(TreePaths.MAX_PATH_BYTES + 1);
    expectMalformed(index(1, link), "link target length");
    ByteWriter patch = new ByteWriter();
    DeltaIndex.writePath(patch, new byte[0], "p");
    patch.u8(DeltaFormat.PATCH).varint(10).bytes(new byte[32]).varint(0).u8(PatchMethod.ZSTD.id()).varint(1 << 30);
    expectMalformed(index(1, patch), "data bytes");
    ByteWriter unit = new ByteWriter();
    unit.varint(base.entries().size()).varint(0).varint(1).u8(0).u8(PatchMethod.ZSTD.id()).varint(10).varint(1 << 30);
    byte[] u = unit.toByteArray();
    expectMalformed(DeltaForge.assemble(base, hashOf(), u, DeltaForge.compress(u, DeltaFormat.indexDictionary(base)),
        new byte[0]), "data bytes");

    // The names of all entries together: many long paths that cost the index almost nothing.
    ByteWriter names = new ByteWriter();
    String tail = ("s".repeat(250) + "/").repeat(3) + "s".repeat(250);
    int n = PayloadTree.MAX_NAME_BYTES / (6 + tail.length()) + 1;
    byte[] previous = new byte[0];
    for (int i = 0; i < n; i++) {
      String path = String.format("%05d/", i) + tail;
      DeltaIndex.writePath(names, previous, path);
      previous = path.getBytes(StandardCharsets.UTF_8);
      names.u8(DeltaFormat.DIRECTORY);
    }
    expectMalformed(index(n, names), "paths and link targets take more than");

    // Zip programs: entries, references, metadata and content lengths, the delta-wide budget.
    expectMalformed(zip(ZipLayout.MAX_ENTRIES + 1), "zip entry count");
    expectMalformed(zip(0, 3, 0, 0, 0, 0, 4), "reference count");
    expectMalformed(zip(0, 0, 0, 0, 1001), "zip metadata length");
    expectMalformed(zip(0, 0, 0, 0, 0, DeltaFormat.MAX_CONTENT + 1), "zip content length");
    expectMalformed(zip(DeltaFormat.MAX_ZIP_OPS + 1, 0, 0, 0, 0, 0, 0), "zip programs have more than");
    expectMalformed(zip(1, 0, 0, 0, 0, 5, 0, ZipProgram.OP_STORED, 6), "stored length");
  }

  @Test
  void zstdBombsStopAtTheDeclaredSize() throws IOException {
    byte[] bomb = DeltaForge.bomb(512 << 20);
    assertThat(bomb.length).isLessThan(64 * 1024);
    String sha = Hashes.sha256(new byte[10]);

    DeltaForge patch = new DeltaForge(base).begin(1).path("x");
    patch.index.u8(DeltaFormat.PATCH).varint(10).bytes(java.util.HexFormat.of().parseHex(sha)).varint(0).u8(3)
        .varint(bomb.length);
    expectMalformed(patch.data(bomb).build(hashOf(TreeEntry.file("x", 10, sha, false))));

    ByteWriter solid = new ByteWriter();
    solid.varint(base.entries().size()).varint(0).varint(1).u8(0).u8(3).varint(10).varint(bomb.length).varint(1);
    DeltaIndex.writePath(solid, new byte[0], "x");
    solid.u8(DeltaFormat.SOLID).varint(10).bytes(java.util.HexFormat.of().parseHex(sha)).varint(0).varint(0);
    expectMalformed(DeltaForge.assemble(base, hashOf(TreeEntry.file("x", 10, sha, false)), solid.toByteArray(),
        DeltaForge.compress(solid.toByteArray(), DeltaFormat.indexDictionary(base)), bomb));

    // The index itself as a bomb: the header says 100 bytes.
    byte[] index = DeltaForge.bomb(64 << 20);
    expectMalformed(DeltaForge.assemble(base, hashOf(), new byte[100], index, new byte[0]));
  }

  @Test
  void hostileZipPrograms() throws IOException {
    // Valid jar delta, then every op byte of its zip program perturbed: refused or harmless.
    Path oldJar = file(tmp, "oj/app.jar", jar(new String[][] {{"a", "1"}, {"b", new String(text(5, 50))}}));
    Path newJar = file(tmp, "nj/app.jar", jar(new String[][] {{"a", "2"}, {"b", new String(text(5, 50))}, {"c", "3"}}));
    Path delta = tmp.resolve("jar.delta");
    DeltaBuilder.diff(DiffRequest.of(oldJar, newJar, delta));
    everyIndexBytePerturbed(oldJar, Files.readAllBytes(delta), Files.readAllBytes(newJar));
  }

  /**
   * Applies {@code valid} (a single-file delta for {@code oldJar}) with each byte of its index
   * moved by +1, -1 and +0x40: each must be refused with a documented code, or still produce
   * {@code expected}; never another exception, never anything left behind.
   */
  private void everyIndexBytePerturbed(Path oldJar, byte[] valid, byte[] expected) throws IOException {
    DeltaHeader header = DeltaHeader.read(java.nio.ByteBuffer.wrap(valid));
    PayloadTree jarBase = new PayloadTree(List.of(TreeScanner.fileEntry(header.baseName(), oldJar)));
    byte[] index = new byte[header.indexLength()];
    try (var ctx = new com.github.luben.zstd.ZstdDecompressCtx()) {
      ctx.loadDict(DeltaFormat.indexDictionary(jarBase), com.github.luben.zstd.ZstdDictContentType.RAW_CONTENT);
      ctx.decompressByteArray(index, 0, index.length, valid, header.indexOffset(), header.indexCompressedLength());
    }
    byte[] data = Arrays.copyOfRange(valid, (int) header.dataOffset(), valid.length);
    for (int at = 0; at < index.length; at++) {
      for (int delta2 : new int[] {1, -1, 0x40}) {
        byte[] bad = index.clone();
        bad[at] += (byte) delta2;
        byte[] forged = DeltaForge.assemble(header.version(), header.flags(), header.baseName(), jarBase,
            header.targetTreeHash(), bad, DeltaForge.compress(bad, DeltaFormat.indexDictionary(jarBase)), data);
        ErrorCode code = applyJar(oldJar, forged, expected);
        assertThat(code == null || REFUSALS.contains(code)).as("index byte " + at + " + " + delta2).isTrue();
      }
    }
  }

  /**
   * Applies a single-file delta to {@code oldJar}: null when it produced {@code expected}, else
   * the code it was refused with (a documented refusal, nothing left behind; anything else fails).
   */
  private ErrorCode applyJar(Path oldJar, byte[] delta, byte[] expected) throws IOException {
    Path p = Files.write(tmp.resolve("z.delta"), delta);
    Path out = outDir.resolve("z.jar");
    try {
      DeltaApplier.apply(ApplyRequest.of(oldJar, p, out));
      assertThat(Files.readAllBytes(out)).isEqualTo(expected);
      Files.delete(out);
      return null;
    } catch (UpgradeException e) {
      assertThat(e.code()).as(e.toString()).isIn(REFUSALS);
      assertThat(TestTrees.count(outDir)).as("nothing left behind after " + e).isEqualTo(1);
      return e.code();
    } catch (RuntimeException | Error e) {
      throw new AssertionError("not a documented failure: " + e, e);
    }
  }

  /** An old jar and its next version: changed deflated and stored entries, a new one, and a changed nested jar. */
  private static byte[][] jarPair() {
    byte[] innerOld = jar(new String[][] {{"p/A.class", new String(text(20, 60))}, {"p/B.class", "same"}});
    byte[] innerNew = jar(new String[][] {{"p/A.class", new String(text(21, 60))}, {"p/B.class", "same"}});
    byte[][] pair = new byte[2][];
    for (int v = 0; v < 2; v++) {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
        zip.putNextEntry(new java.util.zip.ZipEntry("a.txt"));
        zip.write(text(v == 0 ? 10 : 11, 40));
        byte[] stored = TestTrees.random(12 + v, 300);
        zip.putNextEntry(TestTrees.stored("b.bin", stored));
        zip.write(stored);
        byte[] inner = v == 0 ? innerOld : innerNew;
        zip.putNextEntry(TestTrees.stored("lib/inner.jar", inner));
        zip.write(inner);
        zip.putNextEntry(new java.util.zip.ZipEntry("c.txt"));
        zip.write(text(13, 20));
        if (v == 1) {
          zip.putNextEntry(new java.util.zip.ZipEntry("d.txt"));
          zip.write(text(14, 20));
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      pair[v] = bytes.toByteArray();
    }
    return pair;
  }

  /**
   * Format version 2's own entries (a codec unit per zip entry, nested jars' included): the valid
   * delta applies; cut anywhere, or with any index byte moved, it is refused, never an Error.
   */
  @Test
  void ownEntriesTruncatedOrPerturbedAreRefused() throws IOException {
    byte[][] jars = jarPair();
    Path oldJar = file(tmp, "oj/app.jar", jars[0]);
    byte[] valid = DeltaForge.ownEntries(jars[0], jars[1]);
    assertThat(DeltaHeader.read(java.nio.ByteBuffer.wrap(valid)).version()).isEqualTo(DeltaFormat.VERSION_OWN_UNITS);
    assertThat(applyJar(oldJar, valid, jars[1])).isNull();
    for (int n = 0; n < valid.length; n++) {
      assertThat(applyJar(oldJar, Arrays.copyOf(valid, n), jars[1])).as("cut at " + n)
          .isEqualTo(ErrorCode.PATCH_MALFORMED);
    }
    assertThat(applyJar(oldJar, Arrays.copyOf(valid, valid.length + 1), jars[1])).as("trailing byte")
        .isEqualTo(ErrorCode.PATCH_MALFORMED);
    everyIndexBytePerturbed(oldJar, valid, jars[1]);
  }

  /**
   * Format version 3's references into old nested zips, in a delta the builder makes: valid, it
   * applies; cut anywhere, or with any index byte moved, it is refused, never an Error.
   */
  @Test
  void referencesIntoNestedZipsTruncatedOrPerturbedAreRefused() throws IOException {
    byte[] moved = text(30, 60);
    byte[] oldFat = fatJar(new String[][] {{"lib/formats-1.0.jar", "f/W.class"}, {"lib/shaded-1.0.jar", "s_1_0/M.class"}},
        moved);
    byte[] changed = moved.clone();
    changed[100] ^= 1;
    byte[] newFat = fatJar(new String[][] {{"lib/formats-2.0.jar", "s_2_0/M.class"}}, changed);
    Path oldJar = file(tmp, "oj/app.jar", oldFat);
    Path newJar = file(tmp, "nj/app.jar", newFat);
    Path delta = tmp.resolve("fat.delta");
    DeltaBuilder.diff(DiffRequest.of(oldJar, newJar, delta));
    byte[] valid = Files.readAllBytes(delta);
    assertThat(DeltaHeader.read(java.nio.ByteBuffer.wrap(valid)).version()).isEqualTo(DeltaFormat.VERSION_INNER_REFS);
    assertThat(applyJar(oldJar, valid, newFat)).isNull();
    for (int n = 0; n < valid.length; n++) {
      assertThat(applyJar(oldJar, Arrays.copyOf(valid, n), newFat)).as("cut at " + n)
          .isEqualTo(ErrorCode.PATCH_MALFORMED);
    }
    everyIndexBytePerturbed(oldJar, valid, newFat);
  }

  /** A fat jar: each {name, entry} a stored nested jar whose one entry holds {@code content}. */
  private static byte[] fatJar(String[][] nested, byte[] content) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
      for (String[] n : nested) {
        byte[] inner = jar(new String[][] {{n[1], new String(content, StandardCharsets.UTF_8)}});
        zip.putNextEntry(TestTrees.stored(n[0], inner));
        zip.write(inner);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * A single-file delta of format {@code version} for a one-entry old jar, whose ZIP entry (1000
   * bytes) has the program {@code program} writes; the fields before its refs are given.
   */
  private byte[] zipProgram(int version, java.util.function.Consumer<ByteWriter> program) {
    byte[] oldJar = jar(new String[][] {{"a.txt", "one"}});
    PayloadTree jarBase = DeltaForge.jarTree("app.jar", oldJar);
    ByteWriter w = new ByteWriter();
    w.varint(1).varint(0).varint(1).u8(0).u8(0).varint(1);
    DeltaIndex.writePath(w, new byte[0], "app.jar");
    w.u8(DeltaFormat.ZIP).varint(1000).bytes(new byte[32]).varint(0).varint(0);
    program.accept(w);
    byte[] index = w.toByteArray();
    return DeltaForge.assemble(version, DeltaFormat.FLAG_BASE_SINGLE_FILE | DeltaFormat.FLAG_TARGET_SINGLE_FILE,
        "app.jar", jarBase, hashOf(), index, DeltaForge.compress(index, DeltaFormat.indexDictionary(jarBase)),
        new byte[0]);
  }

  /** One new entry, one old entry, no gap, time, metadata or content; then {@code refs} references. */
  private static ByteWriter head(ByteWriter w, int refs) {
    return w.varint(1).varint(1).varint(0).varint(0).varint(0).varint(0).varint(refs);
  }

  private void expectMalformedJar(byte[] delta, String why) throws IOException {
    Path oldJar = file(tmp, "oj/app.jar", jar(new String[][] {{"a.txt", "one"}}));
    Path file = Files.write(tmp.resolve("forged.delta"), delta);
    try {
      DeltaApplier.apply(ApplyRequest.of(oldJar, file, outDir.resolve("out.jar")));
      fail("applied a delta that should be refused for: " + why);
    } catch (UpgradeException e) {
      assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.PATCH_MALFORMED);
      assertThat(e.getMessage()).contains(why);
    } catch (RuntimeException | Error e) {
      throw new AssertionError("not a documented failure: " + e, e);
    }
    assertThat(TestTrees.count(outDir)).as("nothing left behind").isEqualTo(1);
  }

  /** Every field of an own entry (format version 2), forged: each is checked before it is used. */
  @Test
  void forgedOwnEntryFields() throws IOException {
    int v2 = DeltaFormat.VERSION_OWN_UNITS;
    int stored = ZipProgram.OWN | ZipProgram.OP_STORED;
    int deflated = ZipProgram.OWN | ZipProgram.OP_DEFLATED;
    int zstd = PatchMethod.ZSTD.id();
    // Patch bytes beyond the data section; a decoded size past the cap, or past the zip it goes into.
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(0).u8(zstd).varint(10).varint(1 << 30)),
        "own zip entry needs 1073741824 data bytes, 0 left");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(deflated).u8(6).varint(0).u8(zstd)
        .varint(DeltaFormat.MAX_OWN_ENTRY + 1L).varint(1)), "own zip entry size 1073741825 exceeds 1073741824");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(0).u8(zstd).varint(1001).varint(1)),
        "own zip entry size 1001 exceeds 1000");
    // No unit, an unknown method, a source that is not an old entry, a bad inflate flag or level.
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(0).u8(0)), "an own zip entry without a unit");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(0).u8(77).varint(10).varint(1)),
        "unknown patch method 77");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(2)), "own entry's old entry 2 exceeds 1");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(stored).varint(1).u8(2)), "own entry's inflate flag 2");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(deflated).u8(0)), "deflate level 0");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(deflated).u8(10)), "deflate level 10");
    // The own bit on ops that have no unit, and in a delta of a version without own entries.
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(ZipProgram.OWN | ZipProgram.OP_OLD)), "zip op byte 64");
    expectMalformedJar(zipProgram(v2, w -> head(w, 0).u8(ZipProgram.OWN | ZipProgram.OP_NESTED)), "zip op byte 67");
    expectMalformedJar(zipProgram(DeltaFormat.VERSION, w -> head(w, 0).u8(stored).varint(0).u8(zstd).varint(10)
        .varint(1)), "zip op byte 65 in a delta of format version 1");
    // An own entry inside zips nested deeper than the format allows.
    expectMalformedJar(zipProgram(v2, w -> {
      for (int depth = 0; depth <= DeltaFormat.MAX_ZIP_DEPTH; depth++) {
        head(w, 0).u8(ZipProgram.OP_NESTED).u8(0).signedVarint(0).u8(0);
      }
      head(w, 0).u8(stored).varint(0).u8(zstd).varint(10).varint(1);
    }), "zips nested deeper than " + DeltaFormat.MAX_ZIP_DEPTH);
  }

  /** Every field of a reference into an old nested zip (format version 3), forged. */
  @Test
  void forgedReferencesIntoNestedZips() throws IOException {
    int v3 = DeltaFormat.VERSION_INNER_REFS;
    int inner = ZipProgram.INNER;
    expectMalformedJar(zipProgram(DeltaFormat.VERSION_OWN_UNITS, w -> head(w, 1).signedVarint(0).u8(inner)),
        "reference flag 2 in a delta of format version 2");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(4)), "reference flag 4 in a delta of format version 3");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(ZipLayout.MAX_ENTRIES + 1L)),
        "nested reference's old zip entry count");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(3).varint(0)),
        "names none of its entries");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(3).varint(4)),
        "nested reference count 4 exceeds 3");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(3).varint(1).signedVarint(3)),
        "nested reference 3 is not among the old zip's 3 entries");
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(3).varint(1).signedVarint(0)
        .u8(2)), "nested reference flag 2");
    // The delta-wide budget counts a reference's entries before they are read.
    expectMalformedJar(zipProgram(v3, w -> head(w, 1).signedVarint(0).u8(inner).varint(ZipLayout.MAX_ENTRIES)
        .varint(DeltaFormat.MAX_ZIP_OPS + 1L)), "zip programs have more than");
  }

  @Test
  void aDeltaFromAnotherDeflaterIsRefusedBeforeWriting() throws IOException {
    DeltaForge f = new DeltaForge(base);
    f.index.varint(base.entries().size()).varint(Integer.toUnsignedLong(Deflation.fingerprint() ^ 0x10)).varint(0)
        .varint(0);
    assertThat(apply(f.build(hashOf()))).isEqualTo(ErrorCode.HASH_MISMATCH);
  }

  @Test
  void bytesAfterTheLastEntryAreRefused() throws IOException {
    DeltaForge f = new DeltaForge(base).begin(0);
    f.index.u8(0);
    expectMalformed(f.build(hashOf()));
    DeltaForge g = new DeltaForge(base).begin(0).data("x".getBytes(StandardCharsets.UTF_8));
    expectMalformed(g.build(hashOf()));
  }
}
