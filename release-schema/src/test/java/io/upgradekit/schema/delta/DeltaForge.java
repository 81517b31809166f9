package io.upgradekit.schema.delta;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDictContentType;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;

/** Writes deltas by hand, field by field, for hostile-input tests. */
final class DeltaForge {
  final ByteWriter index = new ByteWriter();
  final ByteArrayOutputStream data = new ByteArrayOutputStream();
  private final PayloadTree base;
  private byte[] previousPath = new byte[0];

  DeltaForge(PayloadTree base) {
    this.base = base;
  }

  /** Starts the index: base count, no deflater fingerprint, no groups, {@code count} entries. */
  DeltaForge begin(int count) {
    index.varint(base.entries().size()).varint(0).varint(0).varint(count);
    return this;
  }

  DeltaForge path(String path) {
    DeltaIndex.writePath(index, previousPath, path);
    previousPath = path.getBytes(StandardCharsets.UTF_8);
    return this;
  }

  DeltaForge data(byte[] bytes) {
    data.writeBytes(bytes);
    return this;
  }

  /** The delta: header (with the given target hash), index compressed against the base, data. */
  byte[] build(String targetHash) {
    byte[] indexBytes = index.toByteArray();
    return assemble(base, targetHash, indexBytes, compress(indexBytes, DeltaFormat.indexDictionary(base)),
        data.toByteArray());
  }

  static byte[] assemble(PayloadTree base, String targetHash, byte[] indexBytes, byte[] compressed, byte[] data) {
    return assemble(0, null, base, targetHash, indexBytes, compressed, data);
  }

  static byte[] assemble(int flags, String baseName, PayloadTree base, String targetHash, byte[] indexBytes,
      byte[] compressed, byte[] data) {
    return assemble(DeltaFormat.VERSION, flags, baseName, base, targetHash, indexBytes, compressed, data);
  }

  static byte[] assemble(int version, int flags, String baseName, PayloadTree base, String targetHash,
      byte[] indexBytes, byte[] compressed, byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(DeltaHeader.write(version, flags, base.treeHash(), targetHash, indexBytes.length, compressed.length,
        baseName));
    out.writeBytes(compressed);
    out.writeBytes(data);
    return out.toByteArray();
  }

  /** The single-file base tree of a jar named {@code name}. */
  static PayloadTree jarTree(String name, byte[] jar) {
    return new PayloadTree(List.of(TreeEntry.file(name, jar.length, Hashes.sha256(jar), false)));
  }

  /**
   * A valid single-file delta ({@code app.jar} to {@code app.jar}) that rebuilds {@code newJar}
   * from {@code oldJar} with every changed entry, nested zips' included, as a codec unit of its
   * own (format version 2): what the builder does for entries past the group's 32 MiB content
   * stream, here for jars of any size. Each unit is bsdiff'ed against the old entry of the same
   * name (inflated), or zstd alone where there is none.
   */
  static byte[] ownEntries(byte[] oldJar, byte[] newJar) {
    ZipDiffer.Built built = ZipDiffer.diff(ByteBuffer.wrap(oldJar), ByteBuffer.wrap(newJar),
        EnumSet.allOf(PatchMethod.class), false).built();
    if (built == null) {
      throw new IllegalArgumentException("the builder does not rebuild this jar entry by entry");
    }
    ByteBuffer content = ByteBuffer.wrap(built.content());
    ZipProgram program = own(built.program(), ByteBuffer.wrap(oldJar), ByteBuffer.wrap(newJar), content);
    ByteWriter programBytes = new ByteWriter();
    program.write(programBytes);
    ByteArrayOutputStream ownPatches = new ByteArrayOutputStream();
    program.ownPatches(ownPatches);
    EncodedPatch meta = FileCodec.encode(built.metaReference(), built.meta(), EnumSet.of(PatchMethod.ZSTD_PATCH_FROM));

    PayloadTree base = jarTree("app.jar", oldJar);
    ByteWriter index = new ByteWriter();
    index.varint(1).varint(Integer.toUnsignedLong(Deflation.fingerprint())).varint(1);
    Unit.write(index, meta, built.meta().length);
    index.u8(0).varint(1);
    DeltaIndex.writePath(index, new byte[0], "app.jar");
    index.u8(DeltaFormat.ZIP).varint(newJar.length).bytes(HexFormat.of().parseHex(Hashes.sha256(newJar))).varint(0)
        .varint(0).bytes(programBytes.toByteArray());
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    data.writeBytes(meta.bytes());
    data.writeBytes(ownPatches.toByteArray());
    byte[] indexBytes = index.toByteArray();
    int flags = DeltaFormat.FLAG_BASE_SINGLE_FILE | DeltaFormat.FLAG_TARGET_SINGLE_FILE;
    return assemble(DeltaFormat.VERSION_OWN_UNITS, flags, "app.jar", base, jarTree("app.jar", newJar).treeHash(),
        indexBytes, compress(indexBytes, DeltaFormat.indexDictionary(base)), data.toByteArray());
  }

  /** {@code program} with its stream entries turned into own units; consumes its content depth first. */
  private static ZipProgram own(ZipProgram program, ByteBuffer oldZip, ByteBuffer newZip, ByteBuffer content) {
    ZipLayout o = ZipLayout.parse(oldZip);
    ZipLayout n = ZipLayout.parse(newZip);
    List<ZipProgram.Op> ops = new ArrayList<>();
    for (int i = 0; i < program.ops().size(); i++) {
      ZipProgram.Op op = program.ops().get(i);
      int length = op instanceof ZipProgram.StoredOp s ? s.length()
          : op instanceof ZipProgram.DeflatedOp d ? d.length() : -1;
      if (length < 0) {
        ops.add(op);
        continue;
      }
      byte[] bytes = new byte[length];
      content.get(bytes);
      int source = -1;
      for (int k = 0; k < o.entries.size(); k++) {
        if (o.entries.get(k).name().equals(n.entries.get(i).name())) {
          source = k;
        }
      }
      ZipLayout.Entry oe = source < 0 ? null : o.entries.get(source);
      boolean inflate = oe != null && oe.method() == ZipLayout.METHOD_DEFLATED;
      byte[] reference = oe == null ? new byte[0] : inflate
          ? Deflation.inflate(oldZip.slice(oe.dataOffset(), oe.dataLength()), oe.size(), 1 << 30)
          : copy(oldZip.slice(oe.dataOffset(), oe.dataLength()));
      EncodedPatch patch = FileCodec.encode(reference, bytes,
          EnumSet.of(reference.length == 0 ? PatchMethod.ZSTD : PatchMethod.BSDIFF_ZSTD));
      ops.add(new ZipProgram.OwnOp(op.gap(), op.descriptor(), op instanceof ZipProgram.DeflatedOp d ? d.level() : 0,
          reference.length == 0 ? -1 : source, reference.length > 0 && inflate,
          new Unit(patch.method(), bytes.length, 0, patch.bytes().length), patch.bytes()));
    }
    // Nested programs' content follows this program's own.
    for (int i = 0; i < ops.size(); i++) {
      if (ops.get(i) instanceof ZipProgram.NestedOp nested) {
        ZipLayout.Entry oe = o.entries.get(nested.oldEntry());
        ZipLayout.Entry ne = n.entries.get(i);
        ops.set(i, new ZipProgram.NestedOp(nested.gap(), nested.descriptor(), nested.level(), nested.oldEntry(),
            nested.inflateOld(), own(nested.program(), inner(oldZip, oe), inner(newZip, ne), content)));
      }
    }
    return new ZipProgram(program.oldEntryCount(), program.centralGap(), program.dosTime(), program.metaLength(),
        List.of(), 0, ops);
  }

  private static ByteBuffer inner(ByteBuffer zip, ZipLayout.Entry e) {
    ByteBuffer raw = zip.slice(e.dataOffset(), e.dataLength());
    return e.method() == ZipLayout.METHOD_DEFLATED ? ByteBuffer.wrap(Deflation.inflate(raw, e.size(), 1 << 30)) : raw;
  }

  private static byte[] copy(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(b.position(), out);
    return out;
  }

  static byte[] compress(byte[] bytes, byte[] dictionary) {
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setLevel(3);
      if (dictionary.length > 0) {
        ctx.loadDict(dictionary, ZstdDictContentType.RAW_CONTENT);
      }
      return ctx.compress(bytes);
    }
  }

  /** A zstd frame of {@code size} zeros: tiny on the wire, huge when decoded. */
  static byte[] bomb(int size) {
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setLevel(19);
      return ctx.compress(new byte[size]);
    }
  }
}
