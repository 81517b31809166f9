package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;

/**
 * The old side of a zip program, built the same way at build and apply time: the old zip's
 * normalized metadata (the meta reference) and the old entries its {@link ZipProgram#refs()} name
 * (the content reference), then the same for each nested program in entry order.
 */
final class ZipReferences {
  private ZipReferences() {}

  static void collect(ZipProgram program, ByteBuffer oldZip, BoundedOutput meta, BoundedOutput content) {
    ZipLayout old = parseOld(oldZip, program);
    byte[] oldMeta = ZipMeta.normalize(oldZip, old, ZipMeta.Values.declared(oldZip, old));
    if (oldMeta == null) {
      throw ByteReader.malformed("the old zip's metadata exceeds the cap");
    }
    meta.write(oldMeta, 0, oldMeta.length);
    for (ZipProgram.Ref ref : program.refs()) {
      ZipLayout.Entry e = old.entries.get(ref.oldEntry());
      ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
      if (ref.inflate()) {
        if (e.size() > content.remaining()) {
          throw ByteReader.malformed("the content reference exceeds the cap");
        }
        byte[] inflated = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
        if (inflated == null) {
          throw ByteReader.malformed("old entry '" + e.name() + "' does not inflate to its declared size");
        }
        content.write(inflated, 0, inflated.length);
      } else {
        content.write(raw);
      }
    }
    for (ZipProgram.Op op : program.ops()) {
      if (op instanceof ZipProgram.NestedOp nested) {
        collect(nested.program(), oldInner(old, oldZip, nested), meta, content);
      }
    }
  }

  /** Parses the old zip a program was built against; PATCH_MALFORMED if it is not that zip. */
  static ZipLayout parseOld(ByteBuffer oldZip, ZipProgram program) {
    ZipLayout old = ZipLayout.parse(oldZip);
    if (old == null) {
      throw ByteReader.malformed("the delta treats a file as a zip, but the old file is not one");
    }
    if (old.entries.size() != program.oldEntryCount()) {
      throw ByteReader.malformed("the old zip has " + old.entries.size() + " entries, the delta expects "
          + program.oldEntryCount());
    }
    return old;
  }

  /** The old bytes a nested program rebuilds from: the old entry, inflated if the op says so. */
  static ByteBuffer oldInner(ZipLayout old, ByteBuffer oldZip, ZipProgram.NestedOp nested) {
    ZipLayout.Entry e = old.entries.get(nested.oldEntry());
    ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
    if (!nested.inflateOld()) {
      return raw;
    }
    byte[] inflated = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
    if (inflated == null) {
      throw ByteReader.malformed("a nested zip's old entry does not inflate within the cap");
    }
    return ByteBuffer.wrap(inflated);
  }
}
