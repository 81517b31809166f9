package io.upgradekit.schema.delta;

import io.upgradekit.schema.delta.codec.EncodedPatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How to rebuild one zip from its old version, entry by entry (see docs/delta-format.md, "zip
 * program"). The zip's metadata (local headers, data descriptors, central directory, tail) comes
 * from the {@code meta} unit, in normalized form; entry data is either the old entry's raw bytes,
 * bytes of the {@code content} unit (stored, or re-deflated at a level found at build time), or a
 * nested zip rebuilt by its own program.
 *
 * @param oldEntryCount entries of the old zip, checked against the old file at apply time
 * @param centralGap unclaimed bytes between the last entry and the central directory
 * @param meta normalized metadata, encoded against the old zip's normalized metadata
 * @param refs old entries whose bytes, concatenated, are the reference for {@code content}
 * @param content new entry bytes (uncompressed where re-deflated), in entry order
 * @param ops one per new entry, in file order
 */
record ZipProgram(int oldEntryCount, int centralGap, Unit meta, List<Ref> refs, Unit content, List<Op> ops) {
  static final int OP_OLD = 0;
  static final int OP_STORED = 1;
  static final int OP_DEFLATED = 2;
  static final int OP_NESTED = 3;
  private static final int[] DESCRIPTOR_LENGTHS = {0, 12, 16, 20, 24};

  ZipProgram {
    refs = List.copyOf(refs);
    ops = List.copyOf(ops);
  }

  /** An old entry (file-order index) whose raw bytes, or inflated bytes, join the content reference. */
  record Ref(int oldEntry, boolean inflate) {}

  /** What produces one new entry's data; every op also carries the entry's gap and descriptor length. */
  sealed interface Op permits OldOp, StoredOp, DeflatedOp, NestedOp {
    int gap();

    int descriptor();
  }

  /** The old entry's raw compressed bytes, unchanged. */
  record OldOp(int gap, int descriptor, int oldEntry) implements Op {}

  /** The next {@code length} content bytes, as they are. */
  record StoredOp(int gap, int descriptor, int length) implements Op {}

  /** The next {@code length} content bytes, deflated (raw) at {@code level}. */
  record DeflatedOp(int gap, int descriptor, int level, int length) implements Op {}

  /**
   * A zip inside the zip, rebuilt by {@code program} against old entry {@code oldEntry} (inflated
   * first when {@code inflateOld}), then stored ({@code level} 0) or deflated at {@code level}.
   */
  record NestedOp(int gap, int descriptor, int level, int oldEntry, boolean inflateOld, ZipProgram program)
      implements Op {}

  /** Writes the program to the index and its patch bytes, in parse order, to {@code blobs}. */
  void write(ByteWriter index, List<byte[]> blobs, Encoded units) {
    index.varint(ops.size()).varint(oldEntryCount).varint(centralGap);
    Unit.write(index, units.meta(), meta.decodedLength());
    if (meta.decodedLength() > 0) {
      blobs.add(units.meta().bytes());
    }
    Unit.write(index, units.content(), content.decodedLength());
    if (content.decodedLength() > 0) {
      blobs.add(units.content().bytes());
    }
    index.varint(refs.size());
    int previous = -1;
    for (Ref ref : refs) {
      index.signedVarint(ref.oldEntry() - (previous + 1)).u8(ref.inflate() ? 1 : 0);
      previous = ref.oldEntry();
    }
    int previousOld = -1;
    for (int i = 0; i < ops.size(); i++) {
      Op op = ops.get(i);
      int kind = op instanceof OldOp ? OP_OLD
          : op instanceof StoredOp ? OP_STORED
          : op instanceof DeflatedOp ? OP_DEFLATED
          : OP_NESTED;
      int header = kind | descriptorCode(op.descriptor()) << 2 | (op.gap() != 0 ? 0x20 : 0);
      index.u8(header);
      if (op.gap() != 0) {
        index.varint(op.gap());
      }
      if (op instanceof OldOp o) {
        index.signedVarint(o.oldEntry() - (previousOld + 1));
        previousOld = o.oldEntry();
      } else if (op instanceof StoredOp s) {
        index.varint(s.length());
      } else if (op instanceof DeflatedOp d) {
        index.u8(d.level()).varint(d.length());
      } else {
        NestedOp n = (NestedOp) op;
        index.u8(n.level()).signedVarint(n.oldEntry() - (previousOld + 1)).u8(n.inflateOld() ? 1 : 0);
        previousOld = n.oldEntry();
        n.program().write(index, blobs, units.nested().get(i));
      }
    }
  }

  /** The codec output for a program's units, and for its nested programs by op index. */
  record Encoded(EncodedPatch meta, EncodedPatch content, Map<Integer, Encoded> nested) {}

  static ZipProgram read(ByteReader in, DataCursor data, long maxOutput, int depth) {
    if (depth > DeltaFormat.MAX_ZIP_DEPTH) {
      throw ByteReader.malformed("zips nested deeper than " + DeltaFormat.MAX_ZIP_DEPTH);
    }
    int entries = in.varintInt(ZipLayout.MAX_ENTRIES, "zip entry count");
    int oldEntries = in.varintInt(ZipLayout.MAX_ENTRIES, "old zip entry count");
    int centralGap = in.varintInt(Integer.MAX_VALUE, "central directory gap");
    Unit meta = Unit.read(in, data, Math.min(maxOutput, DeltaFormat.MAX_UNIT), "zip metadata");
    Unit content = Unit.read(in, data, DeltaFormat.MAX_UNIT, "zip content");
    int refCount = in.varintInt(oldEntries, "reference count");
    List<Ref> refs = new ArrayList<>(refCount);
    int previous = -1;
    for (int i = 0; i < refCount; i++) {
      int entry = oldIndex(in, previous, oldEntries, "reference");
      int inflate = in.u8();
      if (inflate > 1) {
        throw ByteReader.malformed("reference flag " + inflate);
      }
      refs.add(new Ref(entry, inflate == 1));
      previous = entry;
    }
    List<Op> ops = new ArrayList<>(Math.min(entries, 4096));
    int previousOld = -1;
    long contentUsed = 0;
    for (int i = 0; i < entries; i++) {
      int header = in.u8();
      if ((header & ~0x3f) != 0 || (header >> 2 & 7) >= DESCRIPTOR_LENGTHS.length) {
        throw ByteReader.malformed("zip op byte " + header);
      }
      int descriptor = DESCRIPTOR_LENGTHS[header >> 2 & 7];
      int gap = (header & 0x20) != 0 ? in.varintInt(Integer.MAX_VALUE, "gap") : 0;
      Op op = switch (header & 3) {
        case OP_OLD -> {
          int entry = oldIndex(in, previousOld, oldEntries, "old entry");
          previousOld = entry;
          yield new OldOp(gap, descriptor, entry);
        }
        case OP_STORED -> new StoredOp(gap, descriptor, in.varintInt(DeltaFormat.MAX_UNIT, "stored length"));
        case OP_DEFLATED -> {
          int level = in.u8();
          if (level < 1 || level > 9) {
            throw ByteReader.malformed("deflate level " + level);
          }
          yield new DeflatedOp(gap, descriptor, level, in.varintInt(DeltaFormat.MAX_UNIT, "deflated length"));
        }
        default -> {
          int level = in.u8();
          if (level > 9) {
            throw ByteReader.malformed("deflate level " + level);
          }
          int entry = oldIndex(in, previousOld, oldEntries, "nested zip's old entry");
          previousOld = entry;
          int inflate = in.u8();
          if (inflate > 1) {
            throw ByteReader.malformed("nested inflate flag " + inflate);
          }
          ZipProgram nested = read(in, data, level == 0 ? maxOutput : DeltaFormat.MAX_UNIT, depth + 1);
          yield new NestedOp(gap, descriptor, level, entry, inflate == 1, nested);
        }
      };
      if (op instanceof StoredOp s) {
        contentUsed += s.length();
      } else if (op instanceof DeflatedOp d) {
        contentUsed += d.length();
      }
      ops.add(op);
    }
    if (contentUsed != content.decodedLength()) {
      throw ByteReader.malformed("zip ops use " + contentUsed + " content bytes of " + content.decodedLength());
    }
    return new ZipProgram(oldEntries, centralGap, meta, refs, content, ops);
  }

  private static int oldIndex(ByteReader in, int previous, int oldEntries, String what) {
    long entry = previous + 1L + in.signedVarint();
    if (entry < 0 || entry >= oldEntries) {
      throw ByteReader.malformed(what + " " + entry + " is not among the old zip's " + oldEntries + " entries");
    }
    return (int) entry;
  }

  private static int descriptorCode(int length) {
    for (int i = 0; i < DESCRIPTOR_LENGTHS.length; i++) {
      if (DESCRIPTOR_LENGTHS[i] == length) {
        return i;
      }
    }
    throw new IllegalArgumentException("descriptor length " + length);
  }
}
