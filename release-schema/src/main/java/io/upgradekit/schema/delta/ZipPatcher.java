package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Rebuilds a zip from its old version, a {@link ZipProgram} and the decoded meta and content
 * streams. Streams the result: unchanged entries are copied from the old file's raw bytes, changed
 * ones re-deflated from content. Every length is checked against the streams, the output's signed
 * size or a cap first. What must be held whole before it is written (a re-deflated entry, a
 * rebuilt nested zip: a local header needs their sizes and CRC) goes to {@link Scratch} buffers,
 * so the heap never holds more than a few of their first megabytes.
 */
final class ZipPatcher {
  private ZipPatcher() {}

  /** Turns content into an entry's raw deflate stream; null when it would exceed {@code cap}. */
  @FunctionalInterface
  interface Deflate {
    ByteBuffer deflate(ByteBuffer content, int level, long cap);
  }

  /** Decodes an own entry's unit against its reference (null: none). */
  @FunctionalInterface
  interface UnitDecoder {
    ByteBuffer decode(Unit unit, ByteBuffer reference);
  }

  static void apply(ZipProgram program, ByteBuffer oldZip, StreamCursor metaStream, StreamCursor contentStream,
      BoundedOutput out, UnitDecoder units, Scratch scratch) {
    apply(program, oldZip, metaStream, contentStream, out, (content, level, cap) ->
        Deflation.deflate(content, level, cap, scratch), units, scratch);
  }

  /** As above, with a deflater the builder may answer from what it already proved. */
  static void apply(ZipProgram program, ByteBuffer oldZip, StreamCursor metaStream, StreamCursor contentStream,
      BoundedOutput out, Deflate deflater, UnitDecoder units, Scratch scratch) {
    ZipLayout old = ZipReferences.parseOld(oldZip, program);
    StreamCursor m = metaStream.split(program.metaLength());
    StreamCursor c = contentStream.split(program.contentLength());
    List<ZipProgram.Op> ops = program.ops();
    ZipMeta.Values values = ZipMeta.Values.of(ops.size(), program.dosTime());
    for (int i = 0; i < ops.size(); i++) {
      ZipProgram.Op op = ops.get(i);
      out.write(m.slice(op.gap()));
      int localAt = m.peek(ZipLayout.LOCAL_FIXED);
      int localLength = ZipLayout.LOCAL_FIXED + m.u16(localAt + 26) + m.u16(localAt + 28);
      m.take(localLength);
      byte[] local = m.copy(localAt, localLength);
      long localOffset = out.position();
      ByteBuffer data;
      if (op instanceof ZipProgram.OldOp o) {
        ZipLayout.Entry e = old.entries.get(o.oldEntry());
        values.set(i, e.crc(), e.compressedSize(), e.size(), localOffset);
        data = oldZip.slice(e.dataOffset(), e.dataLength());
      } else if (op instanceof ZipProgram.StoredOp s) {
        data = c.slice(s.length());
        values.set(i, Deflation.crc32(data), s.length(), s.length(), localOffset);
      } else if (op instanceof ZipProgram.DeflatedOp d) {
        ByteBuffer content = c.slice(d.length());
        data = deflater.deflate(content, d.level(), out.remaining());
        if (data == null) {
          throw ByteReader.malformed("a re-deflated entry exceeds the file's size");
        }
        values.set(i, Deflation.crc32(content), data.remaining(), d.length(), localOffset);
      } else if (op instanceof ZipProgram.OwnOp own) {
        ByteBuffer reference = own.source() < 0 ? null : ownReference(old, oldZip, own, scratch);
        ByteBuffer content = units.decode(own.unit(), reference);
        data = own.level() == 0 ? content : deflater.deflate(content, own.level(), out.remaining());
        if (data == null) {
          throw ByteReader.malformed("a re-deflated entry exceeds the file's size");
        }
        values.set(i, Deflation.crc32(content), data.remaining(), content.remaining(), localOffset);
      } else {
        ZipProgram.NestedOp n = (ZipProgram.NestedOp) op;
        ByteBuffer oldInner = ZipReferences.oldInner(old, oldZip, n, scratch);
        BoundedOutput inner = scratch.buffer(
            Math.min(n.level() == 0 ? out.remaining() : Long.MAX_VALUE, DeltaFormat.MAX_CONTENT));
        apply(n.program(), oldInner, metaStream, contentStream, inner, deflater, units, scratch);
        ByteBuffer bytes = inner.toBuffer();
        data = n.level() == 0 ? bytes : deflater.deflate(bytes, n.level(), out.remaining());
        if (data == null) {
          throw ByteReader.malformed("a re-deflated nested zip exceeds the file's size");
        }
        values.set(i, Deflation.crc32(bytes), data.remaining(), bytes.remaining(), localOffset);
      }
      ZipMeta.xorLocal(local, 0, values, i);
      out.write(local, 0, localLength);
      out.write(data);
      int descriptorAt = m.take(op.descriptor());
      byte[] descriptor = m.copy(descriptorAt, op.descriptor());
      ZipMeta.xorDescriptor(descriptor, 0, op.descriptor(), values, i);
      out.write(descriptor, 0, descriptor.length);
    }
    out.write(m.slice(program.centralGap()));
    for (int i = 0; i < ops.size(); i++) {
      int at = m.peek(ZipLayout.CENTRAL_FIXED);
      int recordLength = ZipLayout.CENTRAL_FIXED + m.u16(at + 28) + m.u16(at + 30) + m.u16(at + 32);
      m.take(recordLength);
      byte[] record = m.copy(at, recordLength);
      ZipMeta.xorCentral(record, 0, values, i);
      out.write(record, 0, recordLength);
    }
    out.write(m.slice(m.remaining()));
    if (c.remaining() != 0) {
      throw ByteReader.malformed("a zip's content is longer than its entries");
    }
  }

  /** The old entry an own entry is decoded against: its raw bytes, or inflated (into scratch). */
  private static ByteBuffer ownReference(ZipLayout old, ByteBuffer oldZip, ZipProgram.OwnOp own, Scratch scratch) {
    ZipLayout.Entry e = old.entries.get(own.source());
    ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
    if (!own.inflateSource()) {
      return raw;
    }
    BoundedOutput inflated = scratch.buffer(DeltaFormat.MAX_OWN_ENTRY);
    if (e.size() > DeltaFormat.MAX_OWN_ENTRY || !Deflation.inflateTo(raw, e.size(), inflated)) {
      throw ByteReader.malformed("old entry '" + e.name() + "' does not inflate to its declared size");
    }
    return inflated.toBuffer();
  }
}
