package io.upgradekit.schema.delta;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDictContentType;
import io.upgradekit.schema.model.PayloadTree;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

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
