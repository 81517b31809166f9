package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * A zip's metadata in normalized form: every byte that is not entry data, in file order, with the
 * fields that follow from the data (CRC-32, sizes, local header offsets) XOR-ed with the values the
 * rebuilder computes itself. When a zip is regular those fields become zeros, so the metadata of
 * two versions differs only where something real changed (names, times, extra fields).
 *
 * <p>The XOR makes the transform its own inverse and exact for any input: a field that does not
 * match (an odd zip) is still restored bit for bit, it just compresses less well.
 */
final class ZipMeta {
  private ZipMeta() {}

  /**
   * Per-entry values (file order) that the normalization XORs into the headers, and the zip's
   * most common DOS date/time, XOR-ed into every header's date/time (builds stamp all entries
   * alike, and the stamp changes with every release).
   */
  record Values(long[] crc, long[] compressedSize, long[] size, long[] localOffset, long dosTime) {
    static Values of(int n, long dosTime) {
      return new Values(new long[n], new long[n], new long[n], new long[n], dosTime);
    }

    /** A zip's own values: what its central directory says, and where its local headers are. */
    static Values declared(ByteBuffer zip, ZipLayout layout) {
      int n = layout.entries.size();
      Values v = of(n, commonDosTime(zip, layout));
      for (int i = 0; i < n; i++) {
        ZipLayout.Entry e = layout.entries.get(i);
        v.set(i, e.crc(), e.compressedSize(), e.size(), e.localOffset());
      }
      return v;
    }

    void set(int i, long crc, long compressed, long size, long localOffset) {
      this.crc[i] = crc;
      this.compressedSize[i] = compressed;
      this.size[i] = size;
      this.localOffset[i] = localOffset;
    }
  }

  static long length(ZipLayout layout) {
    long data = 0;
    for (ZipLayout.Entry e : layout.entries) {
      data += e.dataLength();
    }
    return layout.fileLength - data;
  }

  /** The normalized metadata of {@code zip}, whose layout is {@code layout}; null above the cap. */
  static byte[] normalize(ByteBuffer buffer, ZipLayout layout, Values values) {
    long length = length(layout);
    if (length > DeltaFormat.MAX_META) {
      return null;
    }
    BoundedOutput out = BoundedOutput.inMemory(length);
    normalize(buffer, layout, values, out);
    return out.toByteArray();
  }

  /**
   * Writes the normalized metadata of {@code zip} to {@code out}, structure by structure, so it is
   * never held whole on the heap.
   */
  static void normalize(ByteBuffer buffer, ZipLayout layout, Values values, BoundedOutput out) {
    ByteBuffer zip = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int previousEnd = 0;
    for (int i = 0; i < layout.entries.size(); i++) {
      ZipLayout.Entry e = layout.entries.get(i);
      out.write(zip.slice(previousEnd, e.localOffset() - previousEnd));
      byte[] local = new byte[e.localLength()];
      zip.get(e.localOffset(), local);
      xorLocal(local, 0, values, i);
      out.write(local, 0, local.length);
      byte[] descriptor = new byte[e.descriptorLength()];
      zip.get(e.dataOffset() + e.dataLength(), descriptor);
      xorDescriptor(descriptor, 0, descriptor.length, values, i);
      out.write(descriptor, 0, descriptor.length);
      previousEnd = e.end();
    }
    out.write(zip.slice(previousEnd, layout.centralOffset - previousEnd));
    int p = layout.centralOffset;
    for (int i = 0; i < layout.entries.size(); i++) {
      int recordLength = ZipLayout.CENTRAL_FIXED + ZipLayout.u16(zip, p + 28) + ZipLayout.u16(zip, p + 30)
          + ZipLayout.u16(zip, p + 32);
      byte[] record = new byte[recordLength];
      zip.get(p, record);
      xorCentral(record, 0, values, i);
      out.write(record, 0, recordLength);
      p += recordLength;
    }
    out.write(zip.slice(p, layout.fileLength - p));
  }

  /** The most frequent date/time of the central directory's records (the smallest on a tie). */
  static long commonDosTime(ByteBuffer buffer, ZipLayout layout) {
    ByteBuffer zip = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    Map<Long, Integer> counts = new HashMap<>();
    int p = layout.centralOffset;
    for (int i = 0; i < layout.entries.size(); i++) {
      counts.merge(ZipLayout.u32(zip, p + 12), 1, Integer::sum);
      p += ZipLayout.CENTRAL_FIXED + ZipLayout.u16(zip, p + 28) + ZipLayout.u16(zip, p + 30) + ZipLayout.u16(zip, p + 32);
    }
    long best = 0;
    int bestCount = 0;
    for (Map.Entry<Long, Integer> e : counts.entrySet()) {
      if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
        best = e.getKey();
        bestCount = e.getValue();
      }
    }
    return best;
  }

  static void xorLocal(byte[] b, int at, Values v, int i) {
    xor32(b, at + 10, v.dosTime);
    xor32(b, at + 14, v.crc[i]);
    xor32(b, at + 18, v.compressedSize[i]);
    xor32(b, at + 22, v.size[i]);
  }

  static void xorDescriptor(byte[] b, int at, int length, Values v, int i) {
    if (length == 0) {
      return;
    }
    int base = at + (length == 16 || length == 24 ? 4 : 0);
    xor32(b, base, v.crc[i]);
    if (length == 12 || length == 16) {
      xor32(b, base + 4, v.compressedSize[i]);
      xor32(b, base + 8, v.size[i]);
    } else {
      xor64(b, base + 4, v.compressedSize[i]);
      xor64(b, base + 12, v.size[i]);
    }
  }

  static void xorCentral(byte[] b, int at, Values v, int i) {
    xor32(b, at + 12, v.dosTime);
    xor32(b, at + 16, v.crc[i]);
    xor32(b, at + 20, v.compressedSize[i]);
    xor32(b, at + 24, v.size[i]);
    xor32(b, at + 42, v.localOffset[i]);
  }

  private static void xor32(byte[] b, int at, long value) {
    for (int k = 0; k < 4; k++) {
      b[at + k] ^= (byte) (value >>> (8 * k));
    }
  }

  private static void xor64(byte[] b, int at, long value) {
    for (int k = 0; k < 8; k++) {
      b[at + k] ^= (byte) (value >>> (8 * k));
    }
  }
}
