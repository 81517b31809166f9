package io.upgradekit.schema.delta;

import io.upgradekit.schema.model.TreePaths;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A strict, bounded reader of tar archives (POSIX ustar and pax, GNU long names), for payloads.
 * Written for hostile input: every length in a header is checked against a cap before anything is
 * read for it, metadata (a pax header, a GNU long name) is held in memory only up to a small cap,
 * and nothing recurses, so an archive can cost no more than its caps whatever it claims.
 *
 * <p>Accepted: regular files ({@code '0'}, NUL, {@code '7'}), hard links ({@code '1'}), symbolic
 * links ({@code '2'}), directories ({@code '5'}, or a regular entry whose name ends in '/'), and
 * the metadata that names them: a pax extended header ({@code 'x'}: {@code path}, {@code
 * linkpath} and {@code size} are used, other keys ignored), a pax global header ({@code 'g'},
 * skipped), GNU long names and long link names ({@code 'L'}, {@code 'K'}); at most one of each per
 * entry. Everything else (devices, fifos, sparse files, multi-volume parts) is refused. Names must
 * be valid UTF-8; header checksums must match. The archive ends at the first all-zero block.
 */
final class TarReader {
  /** Largest pax header or GNU long name accepted: names are short, this is generous. */
  static final int MAX_METADATA = 64 * 1024;
  /** Header blocks per archive entry, at most (the entry's own, pax, global pax, long name, long link). */
  private static final int HEADERS_PER_ENTRY = 5;
  private static final int BLOCK = 512;

  /** What a header describes. */
  enum Type { FILE, DIRECTORY, SYMLINK, HARD_LINK }

  /**
   * One archive entry.
   *
   * @param name its name as the archive spells it (with any pax or GNU long name applied)
   * @param type what it is
   * @param size bytes of data that follow (a file's content; 0 for links and directories)
   * @param mode the permission bits
   * @param linkTarget a link's target, else null
   */
  record Entry(String name, Type type, long size, int mode, String linkTarget) {}

  private final InputStream in;
  private final long maxFileSize;
  private final long maxHeaders;
  private final byte[] block = new byte[BLOCK];
  private long headers;
  private long dataLeft;
  private int padding;
  private boolean ended;

  /**
   * @param in the archive (already decompressed), read from its start
   * @param maxFileSize largest entry size accepted
   * @param maxEntries most entries accepted
   */
  TarReader(InputStream in, long maxFileSize, int maxEntries) {
    this.in = in;
    this.maxFileSize = maxFileSize;
    this.maxHeaders = (long) maxEntries * HEADERS_PER_ENTRY + HEADERS_PER_ENTRY;
  }

  /**
   * The next entry, or null at the end of the archive. Any data of the previous entry that was not
   * read is skipped.
   *
   * @throws IOException for anything that is not a tar archive under the rules above
   */
  Entry next() throws IOException {
    if (ended) {
      return null;
    }
    skipRest();
    String paxPath = null;
    String paxLink = null;
    long paxSize = -1;
    String longName = null;
    String longLink = null;
    boolean pax = false;
    while (true) {
      if (!readBlock(true)) {
        ended = true;
        return null; // no end-of-archive blocks: tolerated, as tar does
      }
      if (isZero(block)) {
        ended = true;
        return null;
      }
      if (++headers > maxHeaders) {
        throw new IOException("more headers than " + maxHeaders);
      }
      requireChecksum();
      char type = (char) block[156];
      long size = number(124, 12, "size");
      switch (type) {
        case 'x', 'g', 'L', 'K' -> {
          if (size > MAX_METADATA) {
            throw new IOException("a '" + type + "' header of " + size + " bytes, more than " + MAX_METADATA);
          }
          byte[] data = readFully((int) size);
          skipPadding(size);
          switch (type) {
            case 'x' -> {
              if (pax) {
                throw new IOException("two pax headers for one entry");
              }
              pax = true;
              for (String[] record : paxRecords(data)) {
                switch (record[0]) {
                  case "path" -> paxPath = record[1];
                  case "linkpath" -> paxLink = record[1];
                  case "size" -> paxSize = decimal(record[1], "pax size");
                  default -> {
                    if (record[0].startsWith("GNU.sparse.")) {
                      throw new IOException("sparse files are not supported");
                    }
                  }
                }
              }
            }
            case 'g' -> paxRecords(data); // checked, then ignored: it names no entry
            case 'L' -> {
              if (longName != null) {
                throw new IOException("two GNU long names for one entry");
              }
              longName = gnuName(data);
            }
            default -> {
              if (longLink != null) {
                throw new IOException("two GNU long link names for one entry");
              }
              longLink = gnuName(data);
            }
          }
        }
        default -> {
          return entry(type, paxSize >= 0 ? paxSize : size, paxPath != null ? paxPath : longName,
              paxLink != null ? paxLink : longLink);
        }
      }
    }
  }

  /** The current entry's data, exactly its size; reading past it returns -1. */
  InputStream data() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (dataLeft == 0) {
          return -1;
        }
        int n = in.read(b, off, (int) Math.min(len, dataLeft));
        if (n < 0) {
          throw new EOFException("the archive ends inside an entry's data");
        }
        dataLeft -= n;
        return n;
      }
    };
  }

  private Entry entry(char type, long size, String longName, String longLink) throws IOException {
    if (size < 0 || size > maxFileSize) {
      throw new IOException("an entry of " + size + " bytes, more than " + maxFileSize);
    }
    String name = longName != null ? longName : headerName();
    String link = longLink != null ? longLink : text(157, 100, "link name");
    int mode = (int) number(100, 8, "mode") & 07777;
    Type t = switch (type) {
      case '0', '\0', '7' -> name.endsWith("/") ? Type.DIRECTORY : Type.FILE;
      case '1' -> Type.HARD_LINK;
      case '2' -> Type.SYMLINK;
      case '5' -> Type.DIRECTORY;
      default -> throw new IOException("'" + name + "' has entry type '" + printable(type)
          + "' (a device, fifo, sparse file or volume part), which payloads cannot hold");
    };
    dataLeft = size;
    padding = (int) ((BLOCK - size % BLOCK) % BLOCK);
    return new Entry(name, t, t == Type.FILE ? size : 0, mode, t == Type.SYMLINK || t == Type.HARD_LINK ? link : null);
  }

  /** POSIX ustar splits long names into prefix and name; GNU tar and v7 have the name only. */
  private String headerName() throws IOException {
    String name = text(0, 100, "name");
    boolean posix = block[257] == 'u' && block[258] == 's' && block[259] == 't' && block[260] == 'a'
        && block[261] == 'r' && block[262] == 0;
    if (posix && block[345] != 0) {
      return text(345, 155, "name prefix") + "/" + name;
    }
    return name;
  }

  private void skipRest() throws IOException {
    long skip = dataLeft + padding;
    byte[] buffer = new byte[8192];
    while (skip > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, skip));
      if (n < 0) {
        throw new EOFException("the archive ends inside an entry's data");
      }
      skip -= n;
    }
    dataLeft = 0;
    padding = 0;
  }

  private void skipPadding(long size) throws IOException {
    padding = (int) ((BLOCK - size % BLOCK) % BLOCK);
    skipRest();
  }

  private boolean readBlock(boolean endAllowed) throws IOException {
    int n = in.readNBytes(block, 0, BLOCK);
    if (n == 0 && endAllowed) {
      return false;
    }
    if (n < BLOCK) {
      throw new EOFException("the archive ends inside a header");
    }
    return true;
  }

  private byte[] readFully(int size) throws IOException {
    byte[] data = in.readNBytes(size);
    if (data.length < size) {
      throw new EOFException("the archive ends inside a header's data");
    }
    return data;
  }

  private void requireChecksum() throws IOException {
    long expected = number(148, 8, "checksum");
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      int b = i >= 148 && i < 156 ? ' ' : block[i];
      unsigned += b & 0xff;
      signed += b;
    }
    if (expected != unsigned && expected != signed) {
      throw new IOException("a header's checksum does not match (not a tar archive, or a damaged one)");
    }
  }

  /** An octal field (NUL or space terminated), or GNU's base-256 form for large values. */
  private long number(int offset, int length, String what) throws IOException {
    if ((block[offset] & 0x80) != 0) {
      if (block[offset] != (byte) 0x80) {
        throw new IOException("the " + what + " field is negative or too large");
      }
      long value = 0;
      for (int i = offset + 1; i < offset + length; i++) {
        if ((value >>> 55) != 0) {
          throw new IOException("the " + what + " field is too large");
        }
        value = value << 8 | (block[i] & 0xff);
      }
      return value;
    }
    int i = offset;
    int end = offset + length;
    while (i < end && (block[i] == ' ' || block[i] == 0)) {
      i++;
    }
    long value = 0;
    for (; i < end && block[i] >= '0' && block[i] <= '7'; i++) {
      if ((value >>> 60) != 0) {
        throw new IOException("the " + what + " field is too large");
      }
      value = value << 3 | (block[i] - '0');
    }
    for (; i < end; i++) {
      if (block[i] != ' ' && block[i] != 0) {
        throw new IOException("the " + what + " field is not an octal number");
      }
    }
    return value;
  }

  /** A NUL-terminated text field, strict UTF-8. */
  private String text(int offset, int length, String what) throws IOException {
    int end = offset;
    while (end < offset + length && block[end] != 0) {
      end++;
    }
    return utf8(block, offset, end - offset, what);
  }

  private static String gnuName(byte[] data) throws IOException {
    int end = data.length;
    while (end > 0 && data[end - 1] == 0) {
      end--;
    }
    if (end > TreePaths.MAX_PATH_BYTES) {
      throw new IOException("a GNU long name of " + end + " bytes, more than " + TreePaths.MAX_PATH_BYTES);
    }
    return utf8(data, 0, end, "GNU long name");
  }

  /** Records "LENGTH KEY=VALUE\n"; LENGTH counts the whole record. */
  private static List<String[]> paxRecords(byte[] data) throws IOException {
    List<String[]> records = new ArrayList<>();
    int p = 0;
    while (p < data.length) {
      if (data[p] == 0) {
        for (int i = p; i < data.length; i++) {
          if (data[i] != 0) {
            throw new IOException("a pax header has bytes after its padding");
          }
        }
        break;
      }
      int q = p;
      long length = 0;
      while (q < data.length && data[q] >= '0' && data[q] <= '9' && q - p < 7) {
        length = length * 10 + (data[q++] - '0');
      }
      if (q == p || q >= data.length || data[q] != ' ' || length < q - p + 4 || length > data.length - p) {
        throw new IOException("a pax header record has a bad length");
      }
      int end = (int) (p + length);
      if (data[end - 1] != '\n') {
        throw new IOException("a pax header record does not end with a newline");
      }
      int eq = q + 1;
      while (eq < end - 1 && data[eq] != '=') {
        eq++;
      }
      if (eq >= end - 1 || eq == q + 1) {
        throw new IOException("a pax header record has no key");
      }
      records.add(new String[] {utf8(data, q + 1, eq - q - 1, "pax key"), utf8(data, eq + 1, end - eq - 2,
          "pax value")});
      p = end;
    }
    return records;
  }

  private static long decimal(String value, String what) throws IOException {
    if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IOException("the " + what + " is not a number: " + value);
    }
    return Long.parseLong(value);
  }

  private static String utf8(byte[] bytes, int offset, int length, String what) throws IOException {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, offset, length))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IOException("a " + what + " is not valid UTF-8");
    }
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static String printable(char c) {
    return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c);
  }
}
