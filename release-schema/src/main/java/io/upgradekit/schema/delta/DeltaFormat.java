package io.upgradekit.schema.delta;

import java.nio.charset.StandardCharsets;

/** Constants of the delta blob format; docs/delta-format.md describes every field. */
final class DeltaFormat {
  static final byte[] MAGIC = {(byte) 0x89, 'U', 'K', 'D', 'E', 'L', 'T', 'A'};
  /** The format version a delta is written in when it needs no version-2 feature, so older readers take it. */
  static final int VERSION = 1;
  /** Version 2 adds zip entries with a codec unit of their own ({@link ZipProgram.OwnOp}). */
  static final int VERSION_OWN_UNITS = 2;
  /** Version 3 adds references into an old nested zip ({@link ZipProgram.Inner}). */
  static final int VERSION_INNER_REFS = 3;
  /** The newest version this reader reads; it reads every version from 1 up to it. */
  static final int MAX_VERSION = 3;

  static final int FLAG_BASE_SINGLE_FILE = 1;
  static final int FLAG_TARGET_SINGLE_FILE = 2;
  static final int KNOWN_FLAGS = FLAG_BASE_SINGLE_FILE | FLAG_TARGET_SINGLE_FILE;

  /** magic, version, flags, base tree hash, target tree hash, index length, compressed length. */
  static final int FIXED_HEADER = 8 + 2 + 2 + 32 + 32 + 4 + 4;

  /** Largest index, compressed or not. */
  static final int MAX_INDEX = 64 << 20;
  /** Largest meta stream of a group (normalized zip metadata), and largest meta reference. */
  static final int MAX_META = 16 << 20;
  /** Largest content stream of a group, and largest content reference; also caps a nested zip. */
  static final int MAX_CONTENT = 32 << 20;
  /** Largest zip entry decoded from a unit of its own (format version 2). */
  static final int MAX_OWN_ENTRY = 1 << 30;
  /**
   * Largest entry (uncompressed) the builder diffs against its predecessor; a larger changed
   * entry ships its compressed bytes as they are. Bounds the builder's memory by one entry: the
   * codec needs about ten times the entry (see FileCodec).
   */
  static final int MAX_DIFFED_ENTRY = 32 << 20;
  /** Most groups a delta may have. */
  static final int MAX_GROUPS = 4096;
  /** Largest file the builder puts into a group (larger ones get a patch of their own). */
  static final int MAX_GROUP_FILE = 8 << 20;
  /** Most zip entries and references all the zip programs of one delta may have together. */
  static final int MAX_ZIP_OPS = 1 << 18;
  /** Deepest zip nesting rebuilt entry by entry. */
  static final int MAX_ZIP_DEPTH = 3;
  /** Largest file a delta may produce. */
  static final long MAX_FILE_SIZE = 1L << 40;
  /** Largest delta file (it is memory-mapped as one buffer). */
  static final long MAX_DELTA_SIZE = Integer.MAX_VALUE;

  // Entry kinds (low nibble of the kind byte); 0x10 marks an executable file.
  static final int DIRECTORY = 0;
  static final int SYMLINK = 1;
  static final int KEEP = 2;
  static final int COPY = 3;
  static final int PATCH = 4;
  static final int ZIP = 5;
  static final int SOLID = 6;
  static final int SAME = 7;
  static final int EXECUTABLE = 0x10;

  private DeltaFormat() {}

  /**
   * The zstd dictionary the index is compressed with: the base tree's paths, one per line. Both
   * sides know the base tree, and target paths mostly repeat base paths.
   */
  static byte[] indexDictionary(io.upgradekit.schema.model.PayloadTree base) {
    StringBuilder s = new StringBuilder();
    for (var e : base.entries()) {
      s.append(e.path()).append('\n');
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }
}
