package io.upgradekit.schema.delta;

import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds a {@link ZipProgram}: pairs the new zip's entries with the old one's (by name, then by
 * raw bytes, then by version-less name), reuses unchanged entries' raw bytes, inflates changed
 * ones and finds the deflate level that reproduces them exactly, recurses into nested archives,
 * and encodes the normalized metadata and the changed content with the file codec. The result is
 * proven by rebuilding the zip from the serialized program; when anything does not reproduce
 * exactly the caller falls back to a file-level patch.
 */
final class ZipDiffer {
  private static final String[] ARCHIVE_SUFFIXES = {".jar", ".war", ".ear", ".zip"};

  private final Set<PatchMethod> methods;

  ZipDiffer(Set<PatchMethod> methods) {
    this.methods = methods;
  }

  /** A program with its encoded units (the program's units carry sizes only, no offsets yet). */
  record Built(ZipProgram program, ZipProgram.Encoded encoded) {
    /** Index bytes and patch blobs, exactly as the delta stores them. */
    Serialized serialize() {
      ByteWriter index = new ByteWriter();
      List<byte[]> blobs = new ArrayList<>();
      program.write(index, blobs, encoded);
      return new Serialized(index.toByteArray(), blobs);
    }
  }

  record Serialized(byte[] index, List<byte[]> blobs) {
    long blobBytes() {
      long n = 0;
      for (byte[] b : blobs) {
        n += b.length;
      }
      return n;
    }
  }

  /** The program that turns {@code oldZip} into {@code newZip}, proven; null if there is none. */
  Built diffVerified(ByteBuffer oldZip, ByteBuffer newZip, int depth) {
    Built built = diff(oldZip, newZip, depth);
    return built != null && reproduces(built, oldZip, newZip, depth) ? built : null;
  }

  private Built diff(ByteBuffer oldZip, ByteBuffer newZip, int depth) {
    ZipLayout o = ZipLayout.parse(oldZip);
    ZipLayout n = ZipLayout.parse(newZip);
    if (o == null || n == null || n.fileLength > DeltaFormat.MAX_FILE_SIZE) {
      return null;
    }
    Map<String, Integer> byName = new HashMap<>();
    Map<String, Integer> byKey = new HashMap<>();
    Map<Long, List<Integer>> byCrc = new HashMap<>();
    for (int k = 0; k < o.entries.size(); k++) {
      ZipLayout.Entry e = o.entries.get(k);
      byName.putIfAbsent(e.name(), k);
      byKey.putIfAbsent(NameKeys.key(e.name()), k);
      byCrc.computeIfAbsent(e.crc(), c -> new ArrayList<>(1)).add(k);
    }
    int count = n.entries.size();
    ZipMeta.Values values = ZipMeta.Values.of(count);
    List<ZipProgram.Op> ops = new ArrayList<>(count);
    List<ZipProgram.Ref> refs = new ArrayList<>();
    Map<Integer, ZipProgram.Encoded> nested = new HashMap<>();
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    ByteArrayOutputStream reference = new ByteArrayOutputStream();
    int hint = 6;
    for (int j = 0; j < count; j++) {
      ZipLayout.Entry e = n.entries.get(j);
      ByteBuffer raw = newZip.slice(e.dataOffset(), e.dataLength());
      Integer same = byName.get(e.name());
      int reuse = -1;
      if (same != null && sameRaw(oldZip, o.entries.get(same), raw)) {
        reuse = same;
      } else {
        for (int k : byCrc.getOrDefault(e.crc(), List.of())) {
          if (sameRaw(oldZip, o.entries.get(k), raw)) {
            reuse = k;
            break;
          }
        }
      }
      if (reuse >= 0) {
        ZipLayout.Entry oe = o.entries.get(reuse);
        ops.add(new ZipProgram.OldOp(e.gapBefore(), e.descriptorLength(), reuse));
        values.set(j, oe.crc(), oe.compressedSize(), oe.size(), e.localOffset());
        continue;
      }
      Integer pair = same != null ? same : byKey.get(NameKeys.key(e.name()));
      if (pair != null && depth < DeltaFormat.MAX_ZIP_DEPTH && isArchiveName(e.name())) {
        ZipProgram.Op op = nested(oldZip, o.entries.get(pair), pair, e, raw, depth, nested, j, values);
        if (op != null) {
          ops.add(op);
          continue;
        }
      }
      byte[] bytes = null;
      ZipProgram.Op op = null;
      if (e.method() == ZipLayout.METHOD_DEFLATED) {
        bytes = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_UNIT);
        int level = bytes == null ? -1 : Deflation.detectLevel(bytes, raw, hint);
        if (level > 0) {
          hint = level;
          op = new ZipProgram.DeflatedOp(e.gapBefore(), e.descriptorLength(), level, bytes.length);
          values.set(j, Deflation.crc32(bytes, 0, bytes.length), e.dataLength(), bytes.length, e.localOffset());
        }
      }
      if (op == null) {
        bytes = new byte[e.dataLength()];
        raw.get(0, bytes);
        op = new ZipProgram.StoredOp(e.gapBefore(), e.descriptorLength(), bytes.length);
        values.set(j, Deflation.crc32(bytes, 0, bytes.length), bytes.length, bytes.length, e.localOffset());
      }
      ops.add(op);
      content.writeBytes(bytes);
      if (pair != null) {
        ZipLayout.Entry oe = o.entries.get(pair);
        ByteBuffer oldRaw = oldZip.slice(oe.dataOffset(), oe.dataLength());
        byte[] inflated = oe.method() == ZipLayout.METHOD_DEFLATED
            ? Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_UNIT) : null;
        refs.add(new ZipProgram.Ref(pair, inflated != null));
        if (inflated != null) {
          reference.writeBytes(inflated);
        } else {
          byte[] r = new byte[oe.dataLength()];
          oldRaw.get(0, r);
          reference.writeBytes(r);
        }
      }
      if (content.size() > DeltaFormat.MAX_UNIT || reference.size() > DeltaFormat.MAX_UNIT) {
        return null;
      }
    }
    byte[] oldMeta = ZipMeta.normalize(oldZip, o, ZipMeta.Values.declared(o));
    byte[] newMeta = ZipMeta.normalize(newZip, n, values);
    if (oldMeta == null || newMeta == null) {
      return null;
    }
    byte[] contentBytes = content.toByteArray();
    EncodedPatch meta = encode(oldMeta, newMeta);
    EncodedPatch contentPatch = encode(reference.toByteArray(), contentBytes);
    ZipProgram program = new ZipProgram(o.entries.size(), n.centralGap,
        placeholder(meta, newMeta.length), refs, placeholder(contentPatch, contentBytes.length), ops);
    return new Built(program, new ZipProgram.Encoded(meta, contentPatch, nested));
  }

  /** A nested archive rebuilt by its own program; null when that does not work out. */
  private ZipProgram.Op nested(ByteBuffer oldZip, ZipLayout.Entry oe, int pair, ZipLayout.Entry e, ByteBuffer raw,
      int depth, Map<Integer, ZipProgram.Encoded> nested, int j, ZipMeta.Values values) {
    byte[] newInner;
    int level = 0;
    if (e.method() == ZipLayout.METHOD_STORED) {
      newInner = new byte[e.dataLength()];
      raw.get(0, newInner);
    } else if (e.method() == ZipLayout.METHOD_DEFLATED) {
      newInner = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_UNIT);
      level = newInner == null ? -1 : Deflation.detectLevel(newInner, raw, 6);
      if (level < 0) {
        return null;
      }
    } else {
      return null;
    }
    ByteBuffer oldRaw = oldZip.slice(oe.dataOffset(), oe.dataLength());
    boolean inflateOld = oe.method() == ZipLayout.METHOD_DEFLATED;
    ByteBuffer oldInner = oldRaw;
    if (inflateOld) {
      byte[] inflated = Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_UNIT);
      if (inflated == null) {
        return null;
      }
      oldInner = ByteBuffer.wrap(inflated);
    } else if (oe.method() != ZipLayout.METHOD_STORED) {
      return null;
    }
    Built sub = diffVerified(oldInner, ByteBuffer.wrap(newInner), depth + 1);
    if (sub == null) {
      return null;
    }
    nested.put(j, sub.encoded());
    values.set(j, Deflation.crc32(newInner, 0, newInner.length), e.dataLength(), newInner.length, e.localOffset());
    return new ZipProgram.NestedOp(e.gapBefore(), e.descriptorLength(), level, pair, inflateOld, sub.program());
  }

  /** Rebuilds the zip from the serialized program and compares it with the real one. */
  private static boolean reproduces(Built built, ByteBuffer oldZip, ByteBuffer newZip, int depth) {
    Serialized s = built.serialize();
    ByteBuffer data = ByteBuffer.allocate((int) s.blobBytes());
    for (byte[] b : s.blobs()) {
      data.put(b);
    }
    data.flip();
    try {
      ZipProgram parsed = ZipProgram.read(new ByteReader(s.index()), new DataCursor(0, data.limit()),
          newZip.remaining(), depth);
      BoundedOutput out = BoundedOutput.inMemory(newZip.remaining());
      new ZipPatcher(data).apply(parsed, oldZip, out);
      return out.position() == newZip.remaining() && ByteBuffer.wrap(out.toByteArray()).equals(newZip.duplicate());
    } catch (RuntimeException e) {
      return false;
    }
  }

  private EncodedPatch encode(byte[] reference, byte[] target) {
    if (target.length == 0) {
      return null;
    }
    return FileCodec.encode(reference, target, methods);
  }

  private static Unit placeholder(EncodedPatch patch, long decodedLength) {
    return decodedLength == 0 ? Unit.EMPTY : new Unit(patch.method(), decodedLength, 0, patch.bytes().length);
  }

  private static boolean sameRaw(ByteBuffer oldZip, ZipLayout.Entry oe, ByteBuffer raw) {
    return oe.dataLength() == raw.remaining()
        && oldZip.slice(oe.dataOffset(), oe.dataLength()).mismatch(raw) == -1;
  }

  static boolean isArchiveName(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (String suffix : ARCHIVE_SUFFIXES) {
      if (lower.endsWith(suffix)) {
        return true;
      }
    }
    return false;
  }
}
