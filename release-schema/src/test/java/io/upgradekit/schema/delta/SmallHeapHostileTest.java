package io.upgradekit.schema.delta;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.DistributionJvm;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.delta.DeltaBuilder.DiffRequest;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile deltas and archives, decoded in a child JVM with the node updater's real JVM options
 * (its 64 MiB heap, 256 KiB stacks): every forged length and every structure at its cap ends in
 * a typed refusal (or, where the input is valid, in success), never in an OutOfMemoryError or a
 * StackOverflowError. The caps that make this hold are in docs/delta-format.md.
 */
@Timeout(600)
class SmallHeapHostileTest {
  @TempDir Path tmp;

  /** Applies {@code delta} to {@code old} (null: no old payload) in the child; its one line. */
  private String apply(Path old, byte[] delta) throws Exception {
    Path file = Files.write(tmp.resolve("hostile-" + System.nanoTime() + ".delta"), delta);
    Path out = tmp.resolve("out-" + System.nanoTime());
    DistributionJvm.Result r = DistributionJvm.run(HostileMain.class, "apply", old == null ? "-" : old.toString(),
        file.toString(), out.toString());
    assertThat(r.status()).as(r.output()).isZero();
    Files.delete(file);
    return r.output().trim();
  }

  private String read(Path payload) throws Exception {
    DistributionJvm.Result r = DistributionJvm.run(HostileMain.class, "read", payload.toString(), tmp.toString());
    assertThat(r.status()).as(r.output()).isZero();
    return r.output().trim();
  }

  @Test
  void aHeaderClaimingA64MiBIndexAllocatesNothing() throws Exception {
    Path old = tmp.resolve("old");
    Path neu = tmp.resolve("new");
    TestTrees.file(old, "a.txt", TestTrees.text(1, 40));
    TestTrees.file(neu, "a.txt", TestTrees.text(2, 40));
    Path valid = tmp.resolve("valid.delta");
    DeltaBuilder.diff(DiffRequest.of(old, neu, valid).withScratch(tmp));
    byte[] delta = Files.readAllBytes(valid);
    ByteBuffer.wrap(delta).putInt(76, DeltaFormat.MAX_INDEX);
    assertThat(apply(old, delta)).startsWith("PATCH_MALFORMED: ").contains("67108864");

    byte[] past = Files.readAllBytes(valid);
    ByteBuffer.wrap(past).putInt(80, DeltaFormat.MAX_INDEX); // more than the file holds
    assertThat(apply(old, past)).startsWith("PATCH_MALFORMED: ").contains("past the end");
  }

  @Test
  void anIndexThatReallyDecompressesTo64MiBIsReadAsItStreams() throws Exception {
    byte[] bomb = DeltaForge.bomb(DeltaFormat.MAX_INDEX);
    ByteArrayOutputStream delta = new ByteArrayOutputStream();
    delta.writeBytes(DeltaHeader.write(DeltaFormat.VERSION, 0, PayloadTree.empty().treeHash(), PayloadTree.empty().treeHash(),
        DeltaFormat.MAX_INDEX, bomb.length, null));
    delta.writeBytes(bomb);
    assertThat(apply(null, delta.toByteArray())).startsWith("PATCH_MALFORMED: ");
  }

  /**
   * The most an index may describe, all at once: the entry cap, the name bytes cap (each entry
   * with its own hash, so nothing is shared) and the zip program cap. The child must parse all of
   * it (the header's tree hash is wrong only so that nothing is written afterwards).
   */
  @Test
  void theLargestIndexTheCapsAllowFitsTheHeap() throws Exception {
    Path old = tmp.resolve("old");
    TestTrees.file(old, "a.jar", "not really a jar");
    PayloadTree base = TreeScanner.scan(old, 1);
    int files = PayloadTree.MAX_ENTRIES - 1;
    String dir = "d/" + "n".repeat(70) + "/";
    assertThat((long) files * (dir.length() + 7) + 7).isLessThanOrEqualTo(PayloadTree.MAX_NAME_BYTES);
    ByteWriter index = new ByteWriter(8 << 20);
    index.varint(base.entries().size()).varint(0).varint(1).u8(0).u8(0).varint(files + 1);
    byte[] previous = new byte[0];
    MessageDigest sha = Hashes.newSha256();
    for (int i = 0; i < files; i++) {
      String path = dir + String.format("%07d", i);
      DeltaIndex.writePath(index, previous, path);
      previous = path.getBytes(StandardCharsets.UTF_8);
      index.u8(DeltaFormat.PATCH).varint(0).bytes(sha.digest(previous)).varint(0).u8(0);
    }
    DeltaIndex.writePath(index, previous, "zzz.jar");
    int ops = DeltaFormat.MAX_ZIP_OPS;
    index.u8(DeltaFormat.ZIP).varint(1 << 20).bytes(new byte[32]).varint(0).varint(0);
    index.varint(ops).varint(0).varint(0).varint(0).varint(0).varint(0).varint(0);
    for (int i = 0; i < ops; i++) {
      index.u8(ZipProgram.OP_STORED).varint(0);
    }
    byte[] indexBytes = index.toByteArray();
    byte[] delta = DeltaForge.assemble(base, PayloadTree.empty().treeHash(), indexBytes,
        DeltaForge.compress(indexBytes, DeltaFormat.indexDictionary(base)), new byte[0]);
    assertThat(apply(old, delta)).startsWith("PATCH_MALFORMED: ").contains("its index describes tree");
  }

  /** A group's content stream at its cap (32 MiB, from a tiny zstd frame) is valid: it applies. */
  @Test
  void aGroupStreamAtItsCapApplies() throws Exception {
    byte[] zeros = new byte[DeltaFormat.MAX_CONTENT];
    byte[] patch = FileCodec.encode(new byte[0], zeros, EnumSet.of(PatchMethod.ZSTD)).bytes();
    String sha = Hashes.sha256(zeros);
    PayloadTree base = PayloadTree.empty();
    ByteWriter index = new ByteWriter();
    index.varint(0).varint(0).varint(1).u8(0).u8(PatchMethod.ZSTD.id()).varint(zeros.length).varint(patch.length)
        .varint(1);
    DeltaIndex.writePath(index, new byte[0], "zeros.bin");
    index.u8(DeltaFormat.SOLID).varint(zeros.length).bytes(HexFormat.of().parseHex(sha)).varint(0).varint(0);
    byte[] indexBytes = index.toByteArray();
    String target = new PayloadTree(List.of(TreeEntry.file("zeros.bin", zeros.length, sha, false))).treeHash();
    byte[] delta = DeltaForge.assemble(base, target, indexBytes, DeltaForge.compress(indexBytes, new byte[0]), patch);
    assertThat(apply(null, delta)).isEqualTo("OK");
  }

  /**
   * Format version 2's own entries at their size: a 30 MiB entry decoded from a unit of its own
   * against its 30 MiB predecessor (inflated first), then re-deflated, in a jar with a changed
   * nested jar, applies in the distribution's heap and gives the new jar byte for byte. Held on
   * the heap, the entry and its predecessor alone would nearly fill it.
   */
  @Test
  void ownEntriesNearTheDiffedEntryCapApplyInTheDistributionsHeap() throws Exception {
    byte[] big = TestTrees.text(40, 720_000);
    assertThat(big.length).isBetween(28 << 20, DeltaFormat.MAX_DIFFED_ENTRY);
    byte[] changed = big.clone();
    for (int at = 1_000; at < changed.length; at += 3_000_000) {
      changed[at] = (byte) '#';
    }
    byte[] oldJar = jar(big, "1");
    byte[] newJar = jar(changed, "2");
    byte[] delta = DeltaForge.ownEntries(oldJar, newJar);
    assertThat(DeltaHeader.read(ByteBuffer.wrap(delta)).version()).isEqualTo(DeltaFormat.VERSION_OWN_UNITS);
    assertThat(delta.length).isLessThan(20_000);

    Path old = Files.write(tmp.resolve("app.jar"), oldJar);
    Path file = Files.write(tmp.resolve("own.delta"), delta);
    Path out = tmp.resolve("out.jar");
    DistributionJvm.Result r = DistributionJvm.run(HostileMain.class, "apply", old.toString(), file.toString(),
        out.toString());
    assertThat(r.status()).as(r.output()).isZero();
    assertThat(r.output().trim()).isEqualTo("OK");
    assertThat(Files.readAllBytes(out)).isEqualTo(newJar);
  }

  /** A jar of a manifest naming {@code version}, {@code data} deflated, and a small nested jar. */
  private static byte[] jar(byte[] data, String version) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
      zip.putNextEntry(new java.util.zip.ZipEntry("META-INF/MANIFEST.MF"));
      zip.write(("Implementation-Version: " + version + "\n").getBytes(StandardCharsets.UTF_8));
      zip.putNextEntry(new java.util.zip.ZipEntry("data/big.txt"));
      zip.write(data);
      byte[] inner = TestTrees.jar(new String[][] {{"V.class", "version " + version}});
      zip.putNextEntry(TestTrees.stored("lib/inner.jar", inner));
      zip.write(inner);
    }
    return bytes.toByteArray();
  }

  /** A 1 GiB file whose zstd frame asks for a 2^31 window: refused before zstd allocates it. */
  @Test
  void aZstdFrameWithAHugeWindowIsRefusedBeforeDecoding() throws Exception {
    long size = 1L << 30;
    byte[] frame = FileCodec.encode(new byte[0], TestTrees.text(3, 50), EnumSet.of(PatchMethod.ZSTD)).bytes();
    int descriptor = frame[0] & 0xff;
    boolean single = (descriptor & 0x20) != 0;
    int fcsFlag = descriptor >>> 6;
    int headerEnd = 1 + (single ? 0 : 1) + (fcsFlag == 0 ? (single ? 1 : 0) : 1 << fcsFlag);
    ByteArrayOutputStream patch = new ByteArrayOutputStream();
    patch.write(0xc0); // eight bytes of content size, not single-segment
    patch.write((31 - 10) << 3); // window 2^31
    for (int i = 0; i < 8; i++) {
      patch.write((int) (size >>> (8 * i)));
    }
    patch.write(frame, headerEnd, frame.length - headerEnd);
    byte[] patchBytes = patch.toByteArray();
    byte[] sha = new byte[32];
    DeltaForge f = new DeltaForge(PayloadTree.empty()).begin(1).path("big.bin");
    f.index.u8(DeltaFormat.PATCH).varint(size).bytes(sha).varint(0).u8(PatchMethod.ZSTD.id())
        .varint(patchBytes.length);
    String target = new PayloadTree(List.of(TreeEntry.file("big.bin", size, Hashes.hex(sha), false))).treeHash();
    assertThat(apply(null, f.data(patchBytes).build(target))).startsWith("PATCH_MALFORMED: ").contains("window");
  }

  /** bsdiff's control section is a slice of the mapped delta: 60 MiB of it cost no heap. */
  @Test
  void bsdiffSectionsAreReadInPlace() throws Exception {
    long size = 4 << 20;
    int control = 60 << 20;
    ByteWriter header = new ByteWriter();
    header.u8('U').u8('B').u8(1).u8(0).varint(size).varint(control).varint(0);
    byte[] head = header.toByteArray();
    byte[] sha = new byte[32];
    DeltaForge f = new DeltaForge(PayloadTree.empty()).begin(1).path("x.bin");
    f.index.u8(DeltaFormat.PATCH).varint(size).bytes(sha).varint(0).u8(PatchMethod.BSDIFF_ZSTD.id())
        .varint(head.length + control);
    String target = new PayloadTree(List.of(TreeEntry.file("x.bin", size, Hashes.hex(sha), false))).treeHash();
    f.data(head).data(new byte[control]);
    assertThat(apply(null, f.build(target))).startsWith("PATCH_MALFORMED: ");
  }

  @Test
  void tarHeadersThatLieAreRefusedWithinTheHeap() throws Exception {
    // A 200 MB pax value in a small .tar.gz, and 20,000 chained GNU long names.
    Path pax = tmp.resolve("pax.tar.gz");
    try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(pax))) {
      long value = 200L << 20;
      String head = " path=";
      long length = head.length() + value + 1;
      length += String.valueOf(length + 10).length();
      gz.write(new RawTar().header("pax", 'x', length).bytes(), 0, 512);
      gz.write((length + head).getBytes(StandardCharsets.US_ASCII));
      byte[] chunk = "a".repeat(1 << 16).getBytes(StandardCharsets.US_ASCII);
      for (long n = 0; n < value; n += chunk.length) {
        gz.write(chunk, 0, (int) Math.min(chunk.length, value - n));
      }
      gz.write('\n');
    }
    assertThat(read(pax)).startsWith("PAYLOAD_INVALID: ");

    RawTar chain = new RawTar();
    for (int i = 0; i < 20_000; i++) {
      chain.header("././@LongLink", 'L', 2).data(new byte[] {'x', 0});
    }
    assertThat(read(chain.file("x", "x").writeGzip(tmp.resolve("chain.tar.gz")))).startsWith("PAYLOAD_INVALID: ");
  }
}
