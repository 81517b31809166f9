package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Rebuilds a zip from its old version and a {@link ZipProgram}. Streams the result: unchanged
 * entries are copied from the old file's raw bytes, changed ones re-deflated from the content
 * unit. Every length is checked against the output's signed size or the unit cap first.
 */
final class ZipPatcher {
  private final ByteBuffer data;

  /** {@code data} holds the delta's patch bytes, addressed by the units' offsets. */
  ZipPatcher(ByteBuffer data) {
    this.data = data;
  }

  void apply(ZipProgram program, ByteBuffer oldZip, BoundedOutput out) {
    ZipLayout old = ZipLayout.parse(oldZip);
    if (old == null) {
      throw ByteReader.malformed("the delta treats a file as a zip, but the old file is not one");
    }
    if (old.entries.size() != program.oldEntryCount()) {
      throw ByteReader.malformed("the old zip has " + old.entries.size() + " entries, the delta expects "
          + program.oldEntryCount());
    }
    byte[] oldMeta = ZipMeta.normalize(oldZip, old, ZipMeta.Values.declared(old));
    if (oldMeta == null) {
      throw ByteReader.malformed("the old zip's metadata exceeds the unit cap");
    }
    byte[] meta = Units.decode(program.meta(), ByteBuffer.wrap(oldMeta), data);
    byte[] reference = reference(program.refs(), oldZip, old);
    byte[] content = Units.decode(program.content(), ByteBuffer.wrap(reference), data);

    List<ZipProgram.Op> ops = program.ops();
    ZipMeta.Values values = ZipMeta.Values.of(ops.size());
    Cursor m = new Cursor(meta);
    int c = 0;
    for (int i = 0; i < ops.size(); i++) {
      ZipProgram.Op op = ops.get(i);
      out.write(meta, m.take(op.gap()), op.gap());
      int localAt = m.peek(ZipLayout.LOCAL_FIXED);
      int localLength = ZipLayout.LOCAL_FIXED + u16(meta, localAt + 26) + u16(meta, localAt + 28);
      m.take(localLength);
      byte[] local = Arrays.copyOfRange(meta, localAt, localAt + localLength);
      long localOffset = out.position();
      if (op instanceof ZipProgram.OldOp o) {
        ZipLayout.Entry e = old.entries.get(o.oldEntry());
        values.set(i, e.crc(), e.compressedSize(), e.size(), localOffset);
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(oldZip.slice(e.dataOffset(), e.dataLength()));
      } else if (op instanceof ZipProgram.StoredOp s) {
        values.set(i, Deflation.crc32(content, c, s.length()), s.length(), s.length(), localOffset);
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(content, c, s.length());
        c += s.length();
      } else if (op instanceof ZipProgram.DeflatedOp d) {
        byte[] deflated = Deflation.deflate(content, c, d.length(), d.level(), out.remaining());
        if (deflated == null) {
          throw ByteReader.malformed("a re-deflated entry exceeds the file's size");
        }
        values.set(i, Deflation.crc32(content, c, d.length()), deflated.length, d.length(), localOffset);
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(deflated, 0, deflated.length);
        c += d.length();
      } else {
        ZipProgram.NestedOp n = (ZipProgram.NestedOp) op;
        ZipLayout.Entry e = old.entries.get(n.oldEntry());
        ByteBuffer oldInner = oldZip.slice(e.dataOffset(), e.dataLength());
        if (n.inflateOld()) {
          byte[] inflated = Deflation.inflate(oldInner, e.size(), DeltaFormat.MAX_UNIT);
          if (inflated == null) {
            throw ByteReader.malformed("a nested zip's old entry does not inflate within the cap");
          }
          oldInner = ByteBuffer.wrap(inflated);
        }
        BoundedOutput inner = BoundedOutput.inMemory(Math.min(n.level() == 0 ? out.remaining() : Long.MAX_VALUE, DeltaFormat.MAX_UNIT));
        apply(n.program(), oldInner, inner);
        byte[] bytes = inner.toByteArray();
        long crc = Deflation.crc32(bytes, 0, bytes.length);
        byte[] raw = n.level() == 0 ? bytes : Deflation.deflate(bytes, 0, bytes.length, n.level(), out.remaining());
        if (raw == null) {
          throw ByteReader.malformed("a re-deflated nested zip exceeds the file's size");
        }
        values.set(i, crc, raw.length, bytes.length, localOffset);
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(raw, 0, raw.length);
      }
      int descriptorAt = m.take(op.descriptor());
      byte[] descriptor = Arrays.copyOfRange(meta, descriptorAt, descriptorAt + op.descriptor());
      ZipMeta.xorDescriptor(descriptor, 0, op.descriptor(), values, i);
      out.write(descriptor, 0, descriptor.length);
    }
    out.write(meta, m.take(program.centralGap()), program.centralGap());
    for (int i = 0; i < ops.size(); i++) {
      int at = m.peek(ZipLayout.CENTRAL_FIXED);
      int recordLength = ZipLayout.CENTRAL_FIXED + u16(meta, at + 28) + u16(meta, at + 30) + u16(meta, at + 32);
      m.take(recordLength);
      byte[] record = Arrays.copyOfRange(meta, at, at + recordLength);
      ZipMeta.xorCentral(record, 0, values, i);
      out.write(record, 0, recordLength);
    }
    int tail = m.rest();
    out.write(meta, tail, meta.length - tail);
  }

  /** The old entries a program names, concatenated (inflated where asked), within the unit cap. */
  private static byte[] reference(List<ZipProgram.Ref> refs, ByteBuffer oldZip, ZipLayout old) {
    long total = 0;
    for (ZipProgram.Ref ref : refs) {
      ZipLayout.Entry e = old.entries.get(ref.oldEntry());
      total += Math.min(ref.inflate() ? e.size() : e.dataLength(), DeltaFormat.MAX_UNIT + 1L);
    }
    if (total > DeltaFormat.MAX_UNIT) {
      throw ByteReader.malformed("a zip's content reference of " + total + " bytes exceeds the cap");
    }
    byte[] reference = new byte[(int) total];
    int at = 0;
    for (ZipProgram.Ref ref : refs) {
      ZipLayout.Entry e = old.entries.get(ref.oldEntry());
      ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
      if (ref.inflate()) {
        byte[] inflated = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_UNIT);
        if (inflated == null) {
          throw ByteReader.malformed("old entry '" + e.name() + "' does not inflate to its declared size");
        }
        System.arraycopy(inflated, 0, reference, at, inflated.length);
        at += inflated.length;
      } else {
        raw.get(reference, at, e.dataLength());
        at += e.dataLength();
      }
    }
    return reference;
  }

  private static int u16(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
  }

  /** Consecutive regions of the decoded metadata; running past its end is malformed. */
  private static final class Cursor {
    private final byte[] bytes;
    private int position;

    Cursor(byte[] bytes) {
      this.bytes = bytes;
    }

    /** Checks that {@code n} bytes remain and returns where they start, without consuming them. */
    int peek(int n) {
      if (n < 0 || n > bytes.length - position) {
        throw ByteReader.malformed("zip metadata is truncated");
      }
      return position;
    }

    int take(int n) {
      int at = peek(n);
      position += n;
      return at;
    }

    int rest() {
      int at = position;
      position = bytes.length;
      return at;
    }
  }
}
