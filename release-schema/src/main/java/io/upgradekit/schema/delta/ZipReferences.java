package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;

/**
 * The old side of a zip program, built the same way at build and apply time: the old zip's
 * normalized metadata (the meta reference) and the old entries its {@link ZipProgram#refs()} name
 * (the content reference; for a reference into an old nested zip, the entries of it that it
 * lists), then the same for each nested program in entry order.
 */
final class ZipReferences {
  private ZipReferences() {}

  static void collect(ZipProgram program, ByteBuffer oldZip, BoundedOutput meta, BoundedOutput content,
      Scratch scratch) {
    ZipLayout old = parseOld(oldZip, program);
    if (ZipMeta.length(old) > meta.remaining()) {
      throw ByteReader.malformed("the old zip's metadata exceeds the cap");
    }
    ZipMeta.normalize(oldZip, old, ZipMeta.Values.declared(oldZip, old), meta);
    for (ZipProgram.Ref ref : program.refs()) {
      if (ref.inner() == null) {
        write(old, oldZip, ref, content);
        continue;
      }
      ByteBuffer innerZip = oldInner(old, oldZip, ref.oldEntry(), ref.inflate(), scratch);
      ZipLayout inner = ZipLayout.parse(innerZip);
      if (inner == null || inner.entries.size() != ref.inner().oldEntryCount()) {
        throw ByteReader.malformed("old entry '" + old.entries.get(ref.oldEntry()).name() + "' is not the zip of "
            + ref.inner().oldEntryCount() + " entries the delta refers to");
      }
      for (ZipProgram.Ref e : ref.inner().entries()) {
        write(inner, innerZip, e, content);
      }
    }
    for (ZipProgram.Op op : program.ops()) {
      if (op instanceof ZipProgram.NestedOp nested) {
        collect(nested.program(), oldInner(old, oldZip, nested, scratch), meta, content, scratch);
      }
    }
  }

  /** Appends an old entry's raw bytes, or its inflated bytes, to the content reference. */
  private static void write(ZipLayout old, ByteBuffer oldZip, ZipProgram.Ref ref, BoundedOutput content) {
    ZipLayout.Entry e = old.entries.get(ref.oldEntry());
    ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
    if (!ref.inflate()) {
      content.write(raw);
      return;
    }
    if (e.size() > content.remaining()) {
      throw ByteReader.malformed("the content reference exceeds the cap");
    }
    if (!Deflation.inflateTo(raw, e.size(), content)) {
      throw ByteReader.malformed("old entry '" + e.name() + "' does not inflate to its declared size");
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

  /** The old bytes a nested program rebuilds from: the old entry, inflated (into scratch) if the op says so. */
  static ByteBuffer oldInner(ZipLayout old, ByteBuffer oldZip, ZipProgram.NestedOp nested, Scratch scratch) {
    return oldInner(old, oldZip, nested.oldEntry(), nested.inflateOld(), scratch);
  }

  /** Old entry {@code entry} as a zip: its raw bytes, or inflated (into scratch, at most 32 MiB). */
  static ByteBuffer oldInner(ZipLayout old, ByteBuffer oldZip, int entry, boolean inflate, Scratch scratch) {
    ZipLayout.Entry e = old.entries.get(entry);
    ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
    if (!inflate) {
      return raw;
    }
    BoundedOutput inflated = scratch.buffer(DeltaFormat.MAX_CONTENT);
    if (e.size() > DeltaFormat.MAX_CONTENT || !Deflation.inflateTo(raw, e.size(), inflated)) {
      throw ByteReader.malformed("a nested zip's old entry does not inflate within the cap");
    }
    return inflated.toBuffer();
  }
}
