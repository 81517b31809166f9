package io.upgradekit.schema.delta;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes tar archives header by header, lies included, for hostile-input tests. */
final class RawTar {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** A header block: name, type flag, the size field as given (octal), GNU or POSIX magic. */
  RawTar header(String name, char type, long size) {
    return header(name.getBytes(StandardCharsets.UTF_8), type, String.format("%011o", size).getBytes(
        StandardCharsets.US_ASCII), true);
  }

  RawTar header(byte[] name, char type, byte[] sizeField, boolean checksumRight) {
    byte[] h = new byte[512];
    System.arraycopy(name, 0, h, 0, Math.min(name.length, 100));
    put(h, 100, "0000644");
    put(h, 108, "0000000");
    put(h, 116, "0000000");
    System.arraycopy(sizeField, 0, h, 124, Math.min(sizeField.length, 12));
    put(h, 136, "00000000000");
    h[156] = (byte) type;
    put(h, 257, "ustar");
    h[263] = '0';
    h[264] = '0';
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, String.format("%06o", checksumRight ? sum : sum + 1));
    h[154] = 0;
    out.writeBytes(h);
    return this;
  }

  /** Data bytes, padded to the next block. */
  RawTar data(byte[] bytes) {
    out.writeBytes(bytes);
    out.writeBytes(new byte[(512 - bytes.length % 512) % 512]);
    return this;
  }

  /** A pax extended header ('x') holding these records. */
  RawTar pax(String... keyValues) {
    ByteArrayOutputStream records = new ByteArrayOutputStream();
    for (int i = 0; i < keyValues.length; i += 2) {
      byte[] body = (" " + keyValues[i] + "=" + keyValues[i + 1] + "\n").getBytes(StandardCharsets.UTF_8);
      int length = body.length + 1;
      while (String.valueOf(length).length() + body.length != length) {
        length = String.valueOf(length).length() + body.length;
      }
      records.writeBytes(String.valueOf(length).getBytes(StandardCharsets.US_ASCII));
      records.writeBytes(body);
    }
    byte[] bytes = records.toByteArray();
    return header("PaxHeaders/x", 'x', bytes.length).data(bytes);
  }

  /** A regular file with content. */
  RawTar file(String name, String content) {
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    return header(name, '0', bytes.length).data(bytes);
  }

  byte[] bytes() {
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    copy.writeBytes(out.toByteArray());
    copy.writeBytes(new byte[1024]);
    return copy.toByteArray();
  }

  Path writeGzip(Path file) throws IOException {
    try (GZIPOutputStream gz = new GZIPOutputStream(Files.newOutputStream(file))) {
      gz.write(bytes());
    }
    return file;
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }
}
