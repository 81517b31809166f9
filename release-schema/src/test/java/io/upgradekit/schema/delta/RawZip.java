package io.upgradekit.schema.delta;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes zips byte by byte, for layouts the JDK's ZipOutputStream does not make: raw deflate
 * streams from any deflater setting, prefixes, gaps, descriptors with or without signature, extra
 * fields, comments.
 */
final class RawZip {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final List<byte[]> central = new ArrayList<>();
  private String comment = "";

  RawZip prefix(byte[] bytes) {
    out.writeBytes(bytes);
    return this;
  }

  RawZip comment(String text) {
    comment = text;
    return this;
  }

  /** An entry; {@code deflater} null means stored. {@code descriptor}: 0 none, 12 unsigned, 16 signed. */
  RawZip entry(String name, byte[] content, Deflater deflater, byte[] extra, String entryComment, int descriptor,
      int dosTime) {
    byte[] data = content;
    int method = 0;
    if (deflater != null) {
      deflater.setInput(content);
      deflater.finish();
      ByteArrayOutputStream d = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      while (!deflater.finished()) {
        d.write(buf, 0, deflater.deflate(buf));
      }
      deflater.end();
      data = d.toByteArray();
      method = 8;
    }
    CRC32 crc = new CRC32();
    crc.update(content);
    return add(name, data, method, content.length, crc.getValue(), extra, entryComment, descriptor, dosTime);
  }

  /** A deflated entry whose raw deflate bytes, size and CRC-32 are given as they are (they may lie). */
  RawZip rawEntry(String name, byte[] deflated, int size, long crc) {
    return add(name, deflated, 8, size, crc, new byte[0], "", 0, 0);
  }

  private RawZip add(String name, byte[] data, int method, int size, long crcValue, byte[] extra, String entryComment,
      int descriptor, int dosTime) {
    int[] content = {size};
    long[] crc = {crcValue};
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    byte[] commentBytes = entryComment.getBytes(StandardCharsets.UTF_8);
    int offset = out.size();
    int flags = descriptor != 0 ? 8 : 0;
    ByteBuffer local = le(30 + nameBytes.length + extra.length);
    local.putInt(0x04034b50).putShort((short) 20).putShort((short) flags).putShort((short) method).putInt(dosTime);
    local.putInt(descriptor != 0 ? 0 : (int) crc[0]);
    local.putInt(descriptor != 0 ? 0 : data.length).putInt(descriptor != 0 ? 0 : content[0]);
    local.putShort((short) nameBytes.length).putShort((short) extra.length).put(nameBytes).put(extra);
    out.writeBytes(local.array());
    out.writeBytes(data);
    if (descriptor != 0) {
      ByteBuffer dd = le(descriptor);
      if (descriptor == 16) {
        dd.putInt(0x08074b50);
      }
      dd.putInt((int) crc[0]).putInt(data.length).putInt(content[0]);
      out.writeBytes(dd.array());
    }
    ByteBuffer c = le(46 + nameBytes.length + extra.length + commentBytes.length);
    c.putInt(0x02014b50).putShort((short) 0x0314).putShort((short) 20).putShort((short) flags).putShort((short) method)
        .putInt(dosTime).putInt((int) crc[0]).putInt(data.length).putInt(content[0])
        .putShort((short) nameBytes.length).putShort((short) extra.length).putShort((short) commentBytes.length)
        .putShort((short) 0).putShort((short) 0).putInt(0100644 << 16).putInt(offset)
        .put(nameBytes).put(extra).put(commentBytes);
    central.add(c.array());
    return this;
  }

  RawZip gap(int n) {
    out.writeBytes(new byte[n]);
    return this;
  }

  byte[] bytes() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    all.writeBytes(out.toByteArray());
    int cdOffset = all.size();
    for (byte[] c : central) {
      all.writeBytes(c);
    }
    int cdSize = all.size() - cdOffset;
    byte[] commentBytes = comment.getBytes(StandardCharsets.UTF_8);
    ByteBuffer end = le(22 + commentBytes.length);
    end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) central.size())
        .putShort((short) central.size()).putInt(cdSize).putInt(cdOffset).putShort((short) commentBytes.length)
        .put(commentBytes);
    all.writeBytes(end.array());
    return all.toByteArray();
  }

  static Deflater level(int level) {
    return new Deflater(level, true);
  }

  /** A deflater no level of the JDK's default strategy reproduces. */
  static Deflater huffmanOnly() {
    Deflater d = new Deflater(6, true);
    d.setStrategy(Deflater.HUFFMAN_ONLY);
    return d;
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
