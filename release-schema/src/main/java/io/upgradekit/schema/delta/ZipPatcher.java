package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Rebuilds a zip from its old version, a {@link ZipProgram} and the decoded meta and content
 * streams. Streams the result: unchanged entries are copied from the old file's raw bytes, changed
 * ones re-deflated from content. Every length is checked against the streams, the output's signed
 * size or a cap first.
 */
final class ZipPatcher {
  private ZipPatcher() {}

  /** Turns content into an entry's raw deflate stream; null when it would exceed {@code cap}. */
  @FunctionalInterface
  interface Deflate {
    byte[] deflate(byte[] content, int offset, int length, int level, long cap);
  }

  static void apply(ZipProgram program, ByteBuffer oldZip, StreamCursor metaStream, StreamCursor contentStream,
      BoundedOutput out) {
    apply(program, oldZip, metaStream, contentStream, out, Deflation::deflate);
  }

  /** As above, with a deflater the builder may answer from what it already proved. */
  static void apply(ZipProgram program, ByteBuffer oldZip, StreamCursor metaStream, StreamCursor contentStream,
      BoundedOutput out, Deflate deflater) {
    ZipLayout old = ZipReferences.parseOld(oldZip, program);
    StreamCursor m = metaStream.split(program.metaLength());
    StreamCursor c = contentStream.split(program.contentLength());
    byte[] meta = m.bytes;
    byte[] content = c.bytes;
    List<ZipProgram.Op> ops = program.ops();
    ZipMeta.Values values = ZipMeta.Values.of(ops.size(), program.dosTime());
    for (int i = 0; i < ops.size(); i++) {
      ZipProgram.Op op = ops.get(i);
      out.write(meta, m.take(op.gap()), op.gap());
      int localAt = m.peek(ZipLayout.LOCAL_FIXED);
      int localLength = ZipLayout.LOCAL_FIXED + u16(meta, localAt + 26) + u16(meta, localAt + 28);
      m.take(localLength);
      byte[] local = Arrays.copyOfRange(meta, localAt, localAt + localLength);
      long localOffset = out.position();
      byte[] data;
      int dataAt;
      int dataLength;
      if (op instanceof ZipProgram.OldOp o) {
        ZipLayout.Entry e = old.entries.get(o.oldEntry());
        values.set(i, e.crc(), e.compressedSize(), e.size(), localOffset);
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(oldZip.slice(e.dataOffset(), e.dataLength()));
        data = null;
        dataAt = 0;
        dataLength = 0;
      } else if (op instanceof ZipProgram.StoredOp s) {
        dataAt = c.take(s.length());
        data = content;
        dataLength = s.length();
        values.set(i, Deflation.crc32(content, dataAt, dataLength), dataLength, dataLength, localOffset);
      } else if (op instanceof ZipProgram.DeflatedOp d) {
        int at = c.take(d.length());
        data = deflater.deflate(content, at, d.length(), d.level(), out.remaining());
        if (data == null) {
          throw ByteReader.malformed("a re-deflated entry exceeds the file's size");
        }
        dataAt = 0;
        dataLength = data.length;
        values.set(i, Deflation.crc32(content, at, d.length()), data.length, d.length(), localOffset);
      } else {
        ZipProgram.NestedOp n = (ZipProgram.NestedOp) op;
        ByteBuffer oldInner = ZipReferences.oldInner(old, oldZip, n);
        BoundedOutput inner = BoundedOutput.inMemory(
            Math.min(n.level() == 0 ? out.remaining() : Long.MAX_VALUE, DeltaFormat.MAX_CONTENT));
        apply(n.program(), oldInner, metaStream, contentStream, inner, deflater);
        byte[] bytes = inner.toByteArray();
        data = n.level() == 0 ? bytes : deflater.deflate(bytes, 0, bytes.length, n.level(), out.remaining());
        if (data == null) {
          throw ByteReader.malformed("a re-deflated nested zip exceeds the file's size");
        }
        dataAt = 0;
        dataLength = data.length;
        values.set(i, Deflation.crc32(bytes, 0, bytes.length), data.length, bytes.length, localOffset);
      }
      if (data != null) {
        ZipMeta.xorLocal(local, 0, values, i);
        out.write(local, 0, localLength);
        out.write(data, dataAt, dataLength);
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
    int rest = m.remaining();
    out.write(meta, m.take(rest), rest);
    if (c.remaining() != 0) {
      throw ByteReader.malformed("a zip's content is longer than its entries");
    }
  }

  private static int u16(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
  }
}
