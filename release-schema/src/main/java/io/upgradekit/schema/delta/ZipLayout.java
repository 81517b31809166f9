package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where a zip's bytes are: the entries in file order (gap, local header, data, data descriptor),
 * then the central directory and the tail (zip64 records, end record, comment). Everything except
 * entry data is "metadata", which a zip delta ships in normalized form.
 *
 * <p>The parser accepts only zips whose regions tile the file without overlap; anything else (split
 * archives, overlapping entries, a central directory that does not add up) is "not a zip" here and
 * the delta falls back to a file-level patch. The same parser runs at build time and on the old
 * file at apply time, so both sides see the same partition.
 */
final class ZipLayout {
  static final int LOCAL_SIG = 0x04034b50;
  static final int CENTRAL_SIG = 0x02014b50;
  static final int END_SIG = 0x06054b50;
  static final int ZIP64_END_SIG = 0x06064b50;
  static final int ZIP64_LOCATOR_SIG = 0x07064b50;
  static final int DESCRIPTOR_SIG = 0x08074b50;
  static final int LOCAL_FIXED = 30;
  static final int CENTRAL_FIXED = 46;
  static final int METHOD_STORED = 0;
  static final int METHOD_DEFLATED = 8;
  /** Most entries one zip may have here; larger zips are patched as plain files. */
  static final int MAX_ENTRIES = 1 << 20;

  /**
   * One entry. Offsets are absolute; {@code gapBefore} counts unclaimed bytes between the previous
   * region and this local header. crc/sizes are the central directory's (zip64-resolved) values;
   * {@code flags} the local header's general purpose flags; {@code unixMode} the Unix mode from the
   * central directory's external attributes when the entry was made on Unix, else 0.
   */
  record Entry(
      int gapBefore,
      int localOffset,
      int localLength,
      int dataOffset,
      int dataLength,
      int descriptorLength,
      int method,
      String name,
      long crc,
      long compressedSize,
      long size,
      int flags,
      int unixMode) {

    int end() {
      return dataOffset + dataLength + descriptorLength;
    }
  }

  final List<Entry> entries;
  /** Unclaimed bytes between the last entry and the central directory. */
  final int centralGap;
  final int centralOffset;
  final int centralLength;
  final int fileLength;

  private ZipLayout(List<Entry> entries, int centralGap, int centralOffset, int centralLength, int fileLength) {
    this.entries = entries;
    this.centralGap = centralGap;
    this.centralOffset = centralOffset;
    this.centralLength = centralLength;
    this.fileLength = fileLength;
  }

  /** The layout, or null when the bytes are not a zip this engine can take apart exactly. */
  static ZipLayout parse(ByteBuffer zip) {
    return parse(zip, MAX_ENTRIES);
  }

  /** As {@link #parse(ByteBuffer)}, for zips of at most {@code maxEntries} entries. */
  static ZipLayout parse(ByteBuffer zip, int maxEntries) {
    try {
      return parseOrThrow(zip.duplicate().order(ByteOrder.LITTLE_ENDIAN), Math.min(maxEntries, MAX_ENTRIES));
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      return null;
    }
  }

  private static ZipLayout parseOrThrow(ByteBuffer b, int maxEntries) {
    int length = b.limit();
    int end = findEnd(b);
    if (end < 0) {
      return null;
    }
    if (u16(b, end + 4) != 0 || u16(b, end + 6) != 0) {
      return null; // split archive
    }
    long count = u16(b, end + 10);
    long centralLength = u32(b, end + 12);
    long centralOffset = u32(b, end + 16);
    if (count == 0xffff || centralLength == 0xffffffffL || centralOffset == 0xffffffffL) {
      int locator = end - 20;
      if (locator < 0 || b.getInt(locator) != ZIP64_LOCATOR_SIG) {
        return null;
      }
      long zip64End = b.getLong(locator + 8);
      if (zip64End < 0 || zip64End > locator - 56 || b.getInt((int) zip64End) != ZIP64_END_SIG) {
        return null;
      }
      count = b.getLong((int) zip64End + 32);
      centralLength = b.getLong((int) zip64End + 40);
      centralOffset = b.getLong((int) zip64End + 48);
    }
    if (count < 0 || count > maxEntries || centralOffset < 0 || centralLength < 0
        || centralOffset + centralLength > end || count * CENTRAL_FIXED > centralLength) {
      return null;
    }
    List<Entry> entries = new ArrayList<>((int) count);
    int p = (int) centralOffset;
    int centralEnd = (int) (centralOffset + centralLength);
    for (long i = 0; i < count; i++) {
      if (p + CENTRAL_FIXED > centralEnd || b.getInt(p) != CENTRAL_SIG) {
        return null;
      }
      int nameLength = u16(b, p + 28);
      int extraLength = u16(b, p + 30);
      int commentLength = u16(b, p + 32);
      int recordEnd = p + CENTRAL_FIXED + nameLength + extraLength + commentLength;
      if (recordEnd > centralEnd) {
        return null;
      }
      long crc = u32(b, p + 16);
      long compressed = u32(b, p + 20);
      long size = u32(b, p + 24);
      long localOffset = u32(b, p + 42);
      boolean zip64 = false;
      if (size == 0xffffffffL || compressed == 0xffffffffL || localOffset == 0xffffffffL) {
        int q = p + CENTRAL_FIXED + nameLength;
        int extraEnd = q + extraLength;
        boolean found = false;
        while (q + 4 <= extraEnd) {
          int id = u16(b, q);
          int dataLength = u16(b, q + 2);
          if (q + 4 + dataLength > extraEnd) {
            return null;
          }
          if (id == 1) {
            int r = q + 4;
            int rEnd = r + dataLength;
            if (size == 0xffffffffL) {
              if (r + 8 > rEnd) return null;
              size = b.getLong(r);
              r += 8;
            }
            if (compressed == 0xffffffffL) {
              if (r + 8 > rEnd) return null;
              compressed = b.getLong(r);
              r += 8;
            }
            if (localOffset == 0xffffffffL) {
              if (r + 8 > rEnd) return null;
              localOffset = b.getLong(r);
            }
            found = true;
            break;
          }
          q += 4 + dataLength;
        }
        if (!found) {
          return null;
        }
        zip64 = true;
      }
      if (localOffset < 0 || compressed < 0 || size < 0 || localOffset + LOCAL_FIXED > centralOffset) {
        return null;
      }
      int lo = (int) localOffset;
      if (b.getInt(lo) != LOCAL_SIG) {
        return null;
      }
      int localLength = LOCAL_FIXED + u16(b, lo + 26) + u16(b, lo + 28);
      long dataOffset = (long) lo + localLength;
      if (dataOffset + compressed > centralOffset) {
        return null;
      }
      int flags = u16(b, lo + 6);
      int method = u16(b, lo + 8);
      int dataEnd = (int) (dataOffset + compressed);
      int descriptor = 0;
      if ((flags & 8) != 0) {
        boolean signed = dataEnd + 4 <= centralOffset && b.getInt(dataEnd) == DESCRIPTOR_SIG;
        boolean wide = zip64 || hasZip64Extra(b, lo);
        descriptor = (signed ? 4 : 0) + (wide ? 20 : 12);
      }
      byte[] name = new byte[nameLength];
      b.get(p + CENTRAL_FIXED, name);
      int unixMode = u16(b, p + 4) >> 8 == 3 ? (int) (u32(b, p + 38) >>> 16) : 0;
      entries.add(new Entry(0, lo, localLength, (int) dataOffset, (int) compressed, descriptor, method,
          new String(name, StandardCharsets.UTF_8), crc, compressed, size, flags, unixMode));
      p = recordEnd;
    }
    if (p != centralEnd) {
      return null;
    }
    entries.sort(Comparator.comparingInt(Entry::localOffset));
    List<Entry> tiled = new ArrayList<>(entries.size());
    int previousEnd = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (e.localOffset() < previousEnd) {
        return null; // overlapping or shared local headers
      }
      int limit = i + 1 < entries.size() ? entries.get(i + 1).localOffset() : (int) centralOffset;
      int descriptor = e.descriptorLength();
      if (e.dataOffset() + e.dataLength() + descriptor > limit) {
        descriptor = 0; // not where we guessed: leave those bytes to the next gap
      }
      Entry t = new Entry(e.localOffset() - previousEnd, e.localOffset(), e.localLength(), e.dataOffset(),
          e.dataLength(), descriptor, e.method(), e.name(), e.crc(), e.compressedSize(), e.size(), e.flags(),
          e.unixMode());
      tiled.add(t);
      previousEnd = t.end();
    }
    if (previousEnd > centralOffset) {
      return null;
    }
    return new ZipLayout(List.copyOf(tiled), (int) centralOffset - previousEnd, (int) centralOffset,
        (int) centralLength, length);
  }

  private static boolean hasZip64Extra(ByteBuffer b, int local) {
    int nameLength = u16(b, local + 26);
    int q = local + LOCAL_FIXED + nameLength;
    int extraEnd = q + u16(b, local + 28);
    while (q + 4 <= extraEnd) {
      if (u16(b, q) == 1) {
        return true;
      }
      q += 4 + u16(b, q + 2);
    }
    return false;
  }

  /** The end-of-central-directory record whose comment runs exactly to the end of the file. */
  private static int findEnd(ByteBuffer b) {
    int length = b.limit();
    int lowest = Math.max(0, length - 22 - 0xffff);
    for (int p = length - 22; p >= lowest; p--) {
      if (b.getInt(p) == END_SIG && p + 22 + u16(b, p + 20) == length) {
        return p;
      }
    }
    return -1;
  }

  static int u16(ByteBuffer b, int at) {
    return b.getShort(at) & 0xffff;
  }

  static long u32(ByteBuffer b, int at) {
    return b.getInt(at) & 0xffffffffL;
  }
}
