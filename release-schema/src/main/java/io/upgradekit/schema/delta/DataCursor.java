package io.upgradekit.schema.delta;

/**
 * Hands out consecutive regions of a delta's data section while its index is parsed, so every
 * patch's place follows from the lengths before it; a length past the section's end is malformed.
 */
final class DataCursor {
  private final long end;
  private long next;

  DataCursor(long start, long end) {
    this.next = start;
    this.end = end;
  }

  long take(long length, String what) {
    if (length < 0 || length > end - next) {
      throw ByteReader.malformed(what + " needs " + length + " data bytes, " + (end - next) + " left");
    }
    long at = next;
    next += length;
    return at;
  }

  /** True when every data byte was claimed: a delta carries no unreferenced bytes. */
  boolean exhausted() {
    return next == end;
  }
}
