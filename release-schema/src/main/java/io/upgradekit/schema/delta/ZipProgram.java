package io.upgradekit.schema.delta;

import java.util.ArrayList;
import java.util.List;

/**
 * How to rebuild one zip from its old version, entry by entry (see docs/delta-format.md, "zip
 * program"). The zip's metadata (local headers, data descriptors, central directory, tail) is
 * {@code metaLength} bytes of its group's meta stream, in normalized form ({@link ZipMeta}); entry
 * data is either the old entry's raw bytes, bytes of the group's content stream (stored, or
 * re-deflated at a level found at build time), or a nested zip rebuilt by its own program.
 *
 * <p>Stream order is depth-first: a program's own meta and content come first, then those of its
 * nested programs in entry order. References ({@link ZipReferences}) follow the same order.
 *
 * @param oldEntryCount entries of the old zip, checked against the old file at apply time
 * @param centralGap unclaimed bytes between the last entry and the central directory
 * @param dosTime the date/time XOR-ed into every header's date/time field (see {@link ZipMeta})
 * @param metaLength bytes of normalized metadata this zip takes from the meta stream
 * @param refs old entries whose bytes (inflated where flagged) join the content reference; a reference
 *     into an old nested zip (format version 3) names entries of it instead
 * @param contentLength bytes this zip's stored and re-deflated entries take from the content stream
 * @param ops one per new entry, in file order
 */
record ZipProgram(int oldEntryCount, int centralGap, long dosTime, int metaLength, List<Ref> refs,
    int contentLength, List<Op> ops) {
  static final int OP_OLD = 0;
  static final int OP_STORED = 1;
  static final int OP_DEFLATED = 2;
  static final int OP_NESTED = 3;
  /** Op header bit (format version 2): a STORED or DEFLATED entry whose bytes are a unit of its own. */
  static final int OWN = 0x40;
  private static final int[] DESCRIPTOR_LENGTHS = {0, 12, 16, 20, 24};

  ZipProgram {
    refs = List.copyOf(refs);
    ops = List.copyOf(ops);
  }

  /** Reference flag bit (format version 3): the old entry is a zip, and the reference is entries of it. */
  static final int INNER = 2;

  /**
   * An old entry (file-order index) whose raw bytes, or inflated bytes, join the content reference;
   * or, with {@code inner} (format version 3), an old entry that is itself a zip (inflated first when
   * {@code inflate}) whose listed entries join it instead. So an entry of a nested zip can be diffed
   * against its predecessor in another nested zip of the same old zip: a dependency that moved from
   * one jar of a fat jar into another (zipkin's shaded protobuf classes).
   */
  record Ref(int oldEntry, boolean inflate, Inner inner) {
    Ref(int oldEntry, boolean inflate) {
      this(oldEntry, inflate, null);
    }
  }

  /**
   * The entries of an old nested zip a reference takes, in order.
   *
   * @param oldEntryCount the nested zip's entry count, checked against it at apply time
   * @param entries its entries (file-order indexes) and whether each is inflated
   */
  record Inner(int oldEntryCount, List<Ref> entries) {
    Inner {
      entries = List.copyOf(entries);
    }
  }

  /** What produces one new entry's data; every op also carries the entry's gap and descriptor length. */
  sealed interface Op permits OldOp, StoredOp, DeflatedOp, NestedOp, OwnOp {
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
   * An entry whose bytes are a codec unit of its own (format version 2), decoded against old entry
   * {@code source} (-1: none; inflated first when {@code inflateSource}), then stored ({@code level}
   * 0) or deflated at {@code level}. Entries that do not fit the group's content stream take this
   * form, so a zip's size never decides whether it is rebuilt entry by entry. {@code patch} holds the
   * unit's bytes while the builder has them; a reader's op has null and finds them at {@code unit}.
   */
  record OwnOp(int gap, int descriptor, int level, int source, boolean inflateSource, Unit unit, byte[] patch)
      implements Op {}

  /**
   * A zip inside the zip, rebuilt by {@code program} against old entry {@code oldEntry} (inflated
   * first when {@code inflateOld}), then stored ({@code level} 0) or deflated at {@code level}.
   */
  record NestedOp(int gap, int descriptor, int level, int oldEntry, boolean inflateOld, ZipProgram program)
      implements Op {}

  /** Meta bytes this program and its nested programs take, in all. */
  long totalMeta() {
    long n = metaLength;
    for (Op op : ops) {
      if (op instanceof NestedOp nested) {
        n += nested.program().totalMeta();
      }
    }
    return n;
  }

  /** Content bytes this program and its nested programs take, in all. */
  long totalContent() {
    long n = contentLength;
    for (Op op : ops) {
      if (op instanceof NestedOp nested) {
        n += nested.program().totalContent();
      }
    }
    return n;
  }

  /**
   * The oldest format version that expresses this program and its nested ones: 3 with a reference
   * into an old nested zip, 2 with an {@link OwnOp}, else 1.
   */
  int formatVersion() {
    int version = 1;
    for (Ref ref : refs) {
      if (ref.inner() != null) {
        return DeltaFormat.VERSION_INNER_REFS;
      }
    }
    for (Op op : ops) {
      if (op instanceof OwnOp) {
        version = Math.max(version, DeltaFormat.VERSION_OWN_UNITS);
      } else if (op instanceof NestedOp nested) {
        version = Math.max(version, nested.program().formatVersion());
      }
    }
    return version;
  }

  /** The own units' patch bytes in the order a reader takes them from the data section (depth first). */
  void ownPatches(java.io.ByteArrayOutputStream out) {
    for (Op op : ops) {
      if (op instanceof OwnOp own) {
        out.writeBytes(own.patch());
      } else if (op instanceof NestedOp nested) {
        nested.program().ownPatches(out);
      }
    }
  }

  void write(ByteWriter index) {
    index.varint(ops.size()).varint(oldEntryCount).varint(centralGap).varint(dosTime)
        .varint(metaLength).varint(contentLength);
    index.varint(refs.size());
    int previous = -1;
    for (Ref ref : refs) {
      index.signedVarint(ref.oldEntry() - (previous + 1)).u8((ref.inflate() ? 1 : 0) | (ref.inner() != null ? INNER : 0));
      previous = ref.oldEntry();
      if (ref.inner() != null) {
        index.varint(ref.inner().oldEntryCount()).varint(ref.inner().entries().size());
        int previousInner = -1;
        for (Ref e : ref.inner().entries()) {
          index.signedVarint(e.oldEntry() - (previousInner + 1)).u8(e.inflate() ? 1 : 0);
          previousInner = e.oldEntry();
        }
      }
    }
    int previousOld = -1;
    for (Op op : ops) {
      int kind = op instanceof OldOp ? OP_OLD
          : op instanceof StoredOp ? OP_STORED
          : op instanceof DeflatedOp ? OP_DEFLATED
          : op instanceof OwnOp own ? (own.level() == 0 ? OP_STORED : OP_DEFLATED) | OWN
          : OP_NESTED;
      index.u8(kind | descriptorCode(op.descriptor()) << 2 | (op.gap() != 0 ? 0x20 : 0));
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
      } else if (op instanceof OwnOp own) {
        if (own.level() > 0) {
          index.u8(own.level());
        }
        index.varint(own.source() + 1L);
        if (own.source() >= 0) {
          index.u8(own.inflateSource() ? 1 : 0);
        }
        index.u8(own.unit().method().id()).varint(own.unit().decodedLength()).varint(own.unit().length());
      } else {
        NestedOp n = (NestedOp) op;
        index.u8(n.level()).signedVarint(n.oldEntry() - (previousOld + 1)).u8(n.inflateOld() ? 1 : 0);
        previousOld = n.oldEntry();
        n.program().write(index);
      }
    }
  }

  /**
   * Reads a program; {@code maxOutput} bounds the zip it rebuilds (its signed size, or a cap). Its
   * ops and references count against the index's {@code budget}; own units take their bytes from
   * {@code data}, and only in a delta of format {@code version} 2 or later.
   */
  static ZipProgram read(ByteReader in, long maxOutput, int depth, DeltaIndex.Budget budget, DataCursor data,
      int version) {
    if (depth > DeltaFormat.MAX_ZIP_DEPTH) {
      throw ByteReader.malformed("zips nested deeper than " + DeltaFormat.MAX_ZIP_DEPTH);
    }
    int entries = in.varintInt(ZipLayout.MAX_ENTRIES, "zip entry count");
    int oldEntries = in.varintInt(ZipLayout.MAX_ENTRIES, "old zip entry count");
    int centralGap = in.varintInt(Integer.MAX_VALUE, "central directory gap");
    long dosTime = in.varint(0xffffffffL, "date/time");
    int metaLength = in.varintInt((int) Math.min(maxOutput, DeltaFormat.MAX_META), "zip metadata length");
    int contentLength = in.varintInt(DeltaFormat.MAX_CONTENT, "zip content length");
    int refCount = in.varintInt(oldEntries, "reference count");
    budget.zipOps((long) entries + refCount);
    List<Ref> refs = new ArrayList<>(Math.min(refCount, 4096));
    int previous = -1;
    for (int i = 0; i < refCount; i++) {
      int entry = oldIndex(in, previous, oldEntries, "reference");
      previous = entry;
      int flags = in.u8();
      if (flags > (version >= DeltaFormat.VERSION_INNER_REFS ? (1 | INNER) : 1)) {
        throw ByteReader.malformed("reference flag " + flags + " in a delta of format version " + version);
      }
      refs.add(new Ref(entry, (flags & 1) != 0, (flags & INNER) != 0 ? readInner(in, budget) : null));
    }
    List<Op> ops = new ArrayList<>(Math.min(entries, 4096));
    int previousOld = -1;
    long contentUsed = 0;
    for (int i = 0; i < entries; i++) {
      int header = in.u8();
      boolean own = (header & OWN) != 0;
      if ((header & ~(0x3f | OWN)) != 0 || (header >> 2 & 7) >= DESCRIPTOR_LENGTHS.length
          || own && (version < 2 || (header & 3) == OP_OLD || (header & 3) == OP_NESTED)) {
        throw ByteReader.malformed("zip op byte " + header + " in a delta of format version " + version);
      }
      int descriptor = DESCRIPTOR_LENGTHS[header >> 2 & 7];
      int gap = (header & 0x20) != 0 ? in.varintInt(Integer.MAX_VALUE, "gap") : 0;
      Op op;
      if (own) {
        int level = (header & 3) == OP_DEFLATED ? in.u8() : 0;
        if ((header & 3) == OP_DEFLATED && (level < 1 || level > 9)) {
          throw ByteReader.malformed("deflate level " + level);
        }
        int source = in.varintInt(oldEntries, "own entry's old entry") - 1;
        boolean inflate = source >= 0 && flag(in, "own entry's inflate flag");
        // Stored, the entry's bytes go into the zip as they are: no more than the zip may hold.
        Unit unit = Unit.read(in, data, level == 0 ? Math.min(maxOutput, DeltaFormat.MAX_OWN_ENTRY)
            : DeltaFormat.MAX_OWN_ENTRY, "own zip entry");
        if (unit.method() == null) {
          throw ByteReader.malformed("an own zip entry without a unit");
        }
        ops.add(new OwnOp(gap, descriptor, level, source, inflate, unit, null));
        continue;
      }
      switch (header & 3) {
        case OP_OLD -> {
          int entry = oldIndex(in, previousOld, oldEntries, "old entry");
          previousOld = entry;
          op = new OldOp(gap, descriptor, entry);
        }
        case OP_STORED -> {
          int length = in.varintInt(contentLength, "stored length");
          contentUsed += length;
          op = new StoredOp(gap, descriptor, length);
        }
        case OP_DEFLATED -> {
          int level = in.u8();
          if (level < 1 || level > 9) {
            throw ByteReader.malformed("deflate level " + level);
          }
          int length = in.varintInt(contentLength, "deflated length");
          contentUsed += length;
          op = new DeflatedOp(gap, descriptor, level, length);
        }
        default -> {
          int level = in.u8();
          if (level > 9) {
            throw ByteReader.malformed("deflate level " + level);
          }
          int entry = oldIndex(in, previousOld, oldEntries, "nested zip's old entry");
          previousOld = entry;
          boolean inflate = flag(in, "nested inflate flag");
          ZipProgram nested = read(in, level == 0 ? maxOutput : DeltaFormat.MAX_CONTENT, depth + 1, budget, data,
              version);
          op = new NestedOp(gap, descriptor, level, entry, inflate, nested);
        }
      }
      if (contentUsed > contentLength) {
        throw ByteReader.malformed("zip ops use more than the zip's " + contentLength + " content bytes");
      }
      ops.add(op);
    }
    if (contentUsed != contentLength) {
      throw ByteReader.malformed("zip ops use " + contentUsed + " of the zip's " + contentLength + " content bytes");
    }
    return new ZipProgram(oldEntries, centralGap, dosTime, metaLength, refs, contentLength, ops);
  }

  /** The entries of an old nested zip a reference takes; they count against the delta's zip budget. */
  private static Inner readInner(ByteReader in, DeltaIndex.Budget budget) {
    int oldEntries = in.varintInt(ZipLayout.MAX_ENTRIES, "nested reference's old zip entry count");
    int count = in.varintInt(oldEntries, "nested reference count");
    if (count == 0) {
      throw ByteReader.malformed("a reference into a nested zip that names none of its entries");
    }
    budget.zipOps(count);
    List<Ref> entries = new ArrayList<>(Math.min(count, 4096));
    int previous = -1;
    for (int i = 0; i < count; i++) {
      int entry = oldIndex(in, previous, oldEntries, "nested reference");
      entries.add(new Ref(entry, flag(in, "nested reference flag")));
      previous = entry;
    }
    return new Inner(oldEntries, entries);
  }

  private static boolean flag(ByteReader in, String what) {
    int b = in.u8();
    if (b > 1) {
      throw ByteReader.malformed(what + " " + b);
    }
    return b == 1;
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
