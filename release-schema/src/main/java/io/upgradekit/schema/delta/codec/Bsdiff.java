package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDictDecompress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * bsdiff 4 (Colin Percival's algorithm) with its three streams compressed by zstd instead of
 * bzip2, in a container of our own.
 *
 * <p>The encoder matches new against a suffix array of old as bsdiff 4.3 does, so patches contain
 * essentially the same control, diff and extra data (the binary search is exact, so matches are
 * at least as long); the suffix array is built in linear time ({@link SuffixArray}) and without
 * recursion. The diff stream (new minus old, bytewise, along each match) is mostly zeros; when
 * that pays, its zero runs are coded before zstd sees it ({@link DiffStream}). The extra stream
 * (new bytes without an approximate match) often still contains short pieces of old, such as
 * strings of a class file's constant pool; for old files up to {@link #EXTRA_DICT_MAX_OLD} it is
 * also compressed with old as a zstd raw-content dictionary, and kept that way if smaller.
 *
 * <h2>Container, version 1</h2>
 *
 * <pre>
 *   'U' 'B'              magic
 *   0x01                 version
 *   flags                bit 0: the diff stream is zero-run coded
 *                        bit 1: the extra stream is compressed with old as raw-content dictionary
 *                        other bits 0
 *   varint newSize       size of the file the patch produces
 *   varint controlLength compressed size of the control stream (0: no stream)
 *   varint diffLength    compressed size of the diff stream (0: no stream)
 *   control stream, diff stream, then the extra stream up to the end of the patch (none if the
 *   patch ends after the diff stream)
 * </pre>
 *
 * Varints are unsigned LEB128 in shortest form, at most 63 bits. Each stream is one magicless zstd
 * frame that records its content size; an empty stream is left out. A zero-run coded diff stream
 * is a sequence of (varint zeros, varint n, n literal bytes), each producing at least one byte,
 * meaning that many zero bytes followed by the literals. The control stream is a
 * sequence of (seek, add, copy) triples, seek zigzag-encoded: move the old position by seek, write
 * add bytes that are old plus diff bytewise (mod 256), advance the old position by add, then write
 * copy bytes from the extra stream. Every triple writes at least one byte; the diff and extra
 * streams are used up exactly, and the result is exactly newSize bytes.
 *
 * <h2>Resources</h2>
 *
 * Encoding holds old and new in memory plus a suffix array of 4 bytes per old byte; a 100 MB old
 * file needs about 0.6 GB of heap with new. Decoding needs the compressed control and diff streams
 * (small next to the file), fixed buffers, and zstd's window for each stream (at most its content
 * size); old is read in place and new is streamed.
 *
 * <p>Thread-safe: all state is per call.
 */
public final class Bsdiff {
  /** The level used by {@link #encode(byte[], byte[])}. */
  public static final int DEFAULT_LEVEL = 19;

  static final byte[] MAGIC = {'U', 'B'};
  static final int VERSION = 1;
  static final int FLAG_ZERO_RUNS = 1;
  static final int FLAG_EXTRA_DICT = 2;
  /**
   * Largest old file used as dictionary for the extra stream. Loading a dictionary costs about as
   * much as compressing it at level 19, so beyond a megabyte it costs seconds for a percent or two.
   */
  static final int EXTRA_DICT_MAX_OLD = 1 << 20;

  private static final int BUFFER_SIZE = 64 * 1024;
  /** Largest control triple: three varints. */
  private static final int MAX_TRIPLE_BYTES = 3 * Varints.MAX_BYTES;
  /** Below this old size the prefix table costs more to build than it saves. */
  private static final int PREFIX_TABLE_MIN_OLD = 1 << 16;

  private Bsdiff() {}

  /**
   * Encodes new against old at {@link #DEFAULT_LEVEL}.
   *
   * @param oldBytes the file the patch will be applied to, possibly empty
   * @param newBytes the file the patch produces
   * @return the patch, for {@link #decode}
   */
  public static byte[] encode(byte[] oldBytes, byte[] newBytes) {
    return encode(oldBytes, newBytes, DEFAULT_LEVEL);
  }

  /**
   * Encodes new against old.
   *
   * @param oldBytes the file the patch will be applied to, possibly empty
   * @param newBytes the file the patch produces
   * @param level zstd level for the three streams, 1 to 22
   * @return the patch, for {@link #decode}
   */
  public static byte[] encode(byte[] oldBytes, byte[] newBytes, int level) {
    Objects.requireNonNull(oldBytes, "oldBytes");
    Objects.requireNonNull(newBytes, "newBytes");
    Controls controls = new Matcher(oldBytes, newBytes).run();

    byte[] control = compressControls(controls, level);
    DiffFrame diff = compressDiff(controls, oldBytes, newBytes, level);
    byte[] extra = compressExtra(controls, newBytes, level, null);
    boolean extraDict = false;
    if (extra.length > 0 && oldBytes.length > 0 && oldBytes.length <= EXTRA_DICT_MAX_OLD) {
      byte[] withDict = compressExtra(controls, newBytes, level, oldBytes);
      if (withDict.length < extra.length) {
        extra = withDict;
        extraDict = true;
      }
    }

    ByteArrayOutputStream patch =
        new ByteArrayOutputStream(16 + control.length + diff.bytes.length + extra.length);
    patch.writeBytes(MAGIC);
    patch.write(VERSION);
    patch.write((diff.zeroRuns ? FLAG_ZERO_RUNS : 0) | (extraDict ? FLAG_EXTRA_DICT : 0));
    Varints.write(patch, newBytes.length);
    Varints.write(patch, control.length);
    Varints.write(patch, diff.bytes.length);
    patch.writeBytes(control);
    patch.writeBytes(diff.bytes);
    patch.writeBytes(extra);
    return patch.toByteArray();
  }

  private static byte[] compressControls(Controls controls, int level) {
    if (controls.size == 0) {
      return new byte[0];
    }
    ByteArrayOutputStream raw = new ByteArrayOutputStream(controls.size * 6);
    for (int i = 0; i < controls.size; i++) {
      Varints.writeSigned(raw, controls.seek(i));
      Varints.write(raw, controls.add(i));
      Varints.write(raw, controls.copy(i));
    }
    return ZstdFrameWriter.compress(raw.toByteArray(), level, null, 0);
  }

  private record DiffFrame(byte[] bytes, boolean zeroRuns) {}

  /** Compresses the diff stream both raw and zero-run coded, and keeps the smaller. */
  private static DiffFrame compressDiff(Controls controls, byte[] old, byte[] nu, int level) {
    long total = controls.totalAdd();
    if (total == 0) {
      return new DiffFrame(new byte[0], false);
    }
    byte[] buffer = new byte[BUFFER_SIZE];
    DiffStream.Coder coder = new DiffStream.Coder();
    byte[] raw;
    try (ZstdFrameWriter writer = new ZstdFrameWriter(level, total, null, 0)) {
      int oldPos = 0;
      int newPos = 0;
      for (int i = 0; i < controls.size; i++) {
        oldPos += (int) controls.seek(i);
        int add = controls.add(i);
        for (int done = 0; done < add; ) {
          int n = Math.min(add - done, buffer.length);
          for (int j = 0; j < n; j++) {
            buffer[j] = (byte) (nu[newPos + done + j] - old[oldPos + done + j]);
          }
          writer.write(buffer, 0, n);
          coder.write(buffer, 0, n);
          done += n;
        }
        oldPos += add;
        newPos += add + controls.copy(i);
      }
      raw = writer.finish();
    }
    byte[] coded = ZstdFrameWriter.compress(coder.finish(), level, null, 0);
    return coded.length < raw.length ? new DiffFrame(coded, true) : new DiffFrame(raw, false);
  }

  private static byte[] compressExtra(Controls controls, byte[] nu, int level, byte[] dictionary) {
    long total = controls.totalCopy();
    if (total == 0) {
      return new byte[0];
    }
    int windowLog = dictionary == null ? 0 : ZstdPatchFrom.windowLog(dictionary.length, total);
    try (ZstdFrameWriter writer = new ZstdFrameWriter(level, total, dictionary, windowLog)) {
      int newPos = 0;
      for (int i = 0; i < controls.size; i++) {
        newPos += controls.add(i);
        writer.write(nu, newPos, controls.copy(i));
        newPos += controls.copy(i);
      }
      return writer.finish();
    }
  }

  /** Control triples in three growable arrays. */
  private static final class Controls {
    long[] seeks = new long[64];
    int[] adds = new int[64];
    int[] copies = new int[64];
    int size;

    void add(long seek, int add, int copy) {
      if (size == adds.length) {
        int capacity = size * 2;
        seeks = Arrays.copyOf(seeks, capacity);
        adds = Arrays.copyOf(adds, capacity);
        copies = Arrays.copyOf(copies, capacity);
      }
      seeks[size] = seek;
      adds[size] = add;
      copies[size] = copy;
      size++;
    }

    long seek(int i) {
      return seeks[i];
    }

    int add(int i) {
      return adds[i];
    }

    int copy(int i) {
      return copies[i];
    }

    long totalAdd() {
      long sum = 0;
      for (int i = 0; i < size; i++) {
        sum += adds[i];
      }
      return sum;
    }

    long totalCopy() {
      long sum = 0;
      for (int i = 0; i < size; i++) {
        sum += copies[i];
      }
      return sum;
    }
  }

  /** bsdiff 4.3's matching loop, with its recursion and pointer arithmetic made explicit. */
  private static final class Matcher {
    private final byte[] old;
    private final byte[] nu;
    private final int oldSize;
    private final int newSize;
    private final int[] sa;
    private final int[] prefixStart;
    private final Controls controls = new Controls();
    /** Old position after the last triple emitted, the base of the next seek. */
    private int oldCursor;
    /** Where the last {@link #search} found its match. */
    private int matchPos;

    Matcher(byte[] old, byte[] nu) {
      this.old = old;
      this.nu = nu;
      this.oldSize = old.length;
      this.newSize = nu.length;
      this.sa = oldSize > 0 ? SuffixArray.build(old) : null;
      this.prefixStart = oldSize >= PREFIX_TABLE_MIN_OLD ? prefixStarts(old) : null;
    }

    Controls run() {
      if (oldSize == 0) {
        if (newSize > 0) {
          controls.add(0, 0, newSize);
        }
        return controls;
      }
      int scan = 0;
      int len = 0;
      int pos = 0;
      int lastScan = 0;
      int lastPos = 0;
      int lastOffset = 0;
      while (scan < newSize) {
        int oldScore = 0;
        int scsc = scan += len;
        for (; scan < newSize; scan++) {
          len = search(scan);
          pos = matchPos;
          for (; scsc < scan + len; scsc++) {
            int o = scsc + lastOffset;
            if (o >= 0 && o < oldSize && old[o] == nu[scsc]) {
              oldScore++;
            }
          }
          if ((len == oldScore && len != 0) || len > oldScore + 8) {
            break;
          }
          int o = scan + lastOffset;
          if (o >= 0 && o < oldSize && old[o] == nu[scan]) {
            oldScore--;
          }
        }
        if (len != oldScore || scan == newSize) {
          // Extend the previous match forwards and this one backwards while that pays.
          int s = 0;
          int sf = 0;
          int lenF = 0;
          for (int i = 0; lastScan + i < scan && lastPos + i < oldSize; ) {
            if (old[lastPos + i] == nu[lastScan + i]) {
              s++;
            }
            i++;
            if (2L * s - i > 2L * sf - lenF) {
              sf = s;
              lenF = i;
            }
          }
          int lenB = 0;
          if (scan < newSize) {
            s = 0;
            int sb = 0;
            for (int i = 1; scan >= lastScan + i && pos >= i; i++) {
              if (old[pos - i] == nu[scan - i]) {
                s++;
              }
              if (2L * s - i > 2L * sb - lenB) {
                sb = s;
                lenB = i;
              }
            }
          }
          if (lastScan + lenF > scan - lenB) {
            // The extensions overlap: split where the forward one stops paying.
            int overlap = (lastScan + lenF) - (scan - lenB);
            s = 0;
            int ss = 0;
            int lenS = 0;
            for (int i = 0; i < overlap; i++) {
              if (nu[lastScan + lenF - overlap + i] == old[lastPos + lenF - overlap + i]) {
                s++;
              }
              if (nu[scan - lenB + i] == old[pos - lenB + i]) {
                s--;
              }
              if (s > ss) {
                ss = s;
                lenS = i + 1;
              }
            }
            lenF += lenS - overlap;
            lenB -= lenS;
          }
          emit(lastPos, lenF, (scan - lenB) - (lastScan + lenF));
          lastScan = scan - lenB;
          lastPos = pos - lenB;
          lastOffset = pos - scan;
        }
      }
      return controls;
    }

    private void emit(int diffStart, int add, int copy) {
      if (add == 0 && copy == 0) {
        return; // a pure seek: folded into the next triple's seek
      }
      controls.add((long) diffStart - oldCursor, add, copy);
      oldCursor = diffStart + add;
    }

    /**
     * Finds the longest match of {@code nu[scan..]} among the suffixes of old by binary search
     * over the suffix array; returns its length and leaves its position in {@link #matchPos}.
     *
     * <p>Two refinements over bsdiff 4.3, which both keep the result a longest match: the search
     * starts in the range of suffixes that share the first two bytes (from {@link #prefixStart}),
     * which skips the first dozen or so steps; and each comparison skips the bytes that the range's
     * two ends are known to share with the query. Comparisons are lexicographic with a proper
     * prefix sorting first, as in the suffix array, so the search lands exactly between the two
     * suffixes nearest the query.
     */
    private int search(int scan) {
      int remaining = newSize - scan;
      int st = 0;
      int en = oldSize - 1;
      int known = 0; // bytes every suffix in [st, en] shares with the query
      if (prefixStart != null) {
        int c0 = nu[scan] & 0xff;
        if (remaining >= 2) {
          int key = c0 << 8 | (nu[scan + 1] & 0xff);
          st = prefixStart[key];
          en = prefixStart[key + 1] - 1;
          // The one-byte suffix at old's end sorts first in the bucket of its byte and 0.
          known = (key & 0xff) == 0 ? 1 : 2;
        }
        if (remaining < 2 || st > en) {
          st = prefixStart[c0 << 8];
          en = prefixStart[(c0 + 1) << 8] - 1;
          known = 1;
        }
        if (st > en) {
          matchPos = 0;
          return 0; // no suffix of old starts with this byte
        }
      }
      int lcpSt = known;
      int lcpEn = known;
      while (en - st >= 2) {
        int x = (st + en) >>> 1;
        int p = sa[x];
        int lcp = matchLength(p, scan, Math.min(lcpSt, lcpEn));
        boolean less =
            lcp == Math.min(oldSize - p, remaining)
                ? oldSize - p < remaining // a proper prefix sorts first
                : (old[p + lcp] & 0xff) < (nu[scan + lcp] & 0xff);
        if (less) {
          st = x;
          lcpSt = lcp;
        } else {
          en = x;
          lcpEn = lcp;
        }
      }
      int x = matchLength(sa[st], scan, lcpSt);
      int y = matchLength(sa[en], scan, lcpEn);
      if (x > y) {
        matchPos = sa[st];
        return x;
      }
      matchPos = sa[en];
      return y;
    }

    /** Length of the common prefix of old at p and new at scan, which share at least skip bytes. */
    private int matchLength(int p, int scan, int skip) {
      int n = Math.min(oldSize - p, newSize - scan);
      int m = Arrays.mismatch(old, p + skip, p + n, nu, scan + skip, scan + n);
      return m < 0 ? n : skip + m;
    }
  }

  /**
   * For each two-byte prefix, the first suffix array index of suffixes starting with it (the last
   * byte of old counts as followed by 0); 65537 entries. Worth it only when old is large enough
   * for the binary search's first steps to matter.
   */
  private static int[] prefixStarts(byte[] old) {
    int[] start = new int[65537];
    int n = old.length;
    for (int p = 0; p < n; p++) {
      int key = (old[p] & 0xff) << 8 | (p + 1 < n ? old[p + 1] & 0xff : 0);
      start[key + 1]++;
    }
    for (int k = 1; k < start.length; k++) {
      start[k] += start[k - 1];
    }
    return start;
  }

  /**
   * Writes the file that {@code patch} makes from {@code oldBytes}; see {@link FileCodec#decode}
   * for the contract.
   *
   * @param oldBytes the installed version, between position and limit; not modified or moved
   * @param patch the patch, bounded by the caller; hostile
   * @param expectedSize size of the file to produce, from signed metadata
   * @param out receives exactly {@code expectedSize} bytes on success
   * @throws io.upgradekit.schema.UpgradeException {@code PATCH_MALFORMED} for any malformed patch
   * @throws IOException if writing {@code out} or reading {@code patch} fails
   */
  public static void decode(ByteBuffer oldBytes, InputStream patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(patch, "patch");
    decode(oldBytes, new PatchInput(patch), expectedSize, out);
  }

  static void decode(ByteBuffer oldBytes, PatchInput in, long expectedSize, OutputStream out) throws IOException {
    Objects.requireNonNull(oldBytes, "oldBytes");
    Objects.requireNonNull(out, "out");
    if (expectedSize < 0) {
      throw new IllegalArgumentException("expectedSize " + expectedSize + " is negative");
    }
    in.expect(MAGIC, "bsdiff magic");
    int version = in.read();
    if (version != VERSION) {
      throw malformed(
          version < 0
              ? "patch is truncated in its bsdiff header"
              : "bsdiff patch version " + version + " is not supported (this reader knows "
                  + VERSION + ")");
    }
    int flags = in.read();
    if (flags < 0 || (flags & ~(FLAG_ZERO_RUNS | FLAG_EXTRA_DICT)) != 0) {
      throw malformed(
          flags < 0 ? "patch is truncated in its bsdiff header" : "bsdiff patch has unknown flags " + flags);
    }
    long newSize = in.readVarint("the bsdiff new size");
    if (newSize != expectedSize) {
      throw malformed(
          "bsdiff patch makes a file of " + newSize + " bytes, but " + expectedSize
              + " are expected: the patch is for another file");
    }
    // Each triple writes at least one byte, so there are at most expectedSize of them.
    long maxControl = bound(expectedSize, MAX_TRIPLE_BYTES, 0);
    long controlLength = in.readVarint("the bsdiff control length");
    long diffLength = in.readVarint("the bsdiff diff length");
    checkSectionLength(controlLength, maxControl, "control");
    // Zero-run coding adds at most two varints per run of eight zeros or more.
    long maxDiff = (flags & FLAG_ZERO_RUNS) != 0 ? bound(expectedSize, 4, 64) : expectedSize;
    checkSectionLength(diffLength, maxDiff, "diff");
    FrameSource control = in.section((int) controlLength, "bsdiff control stream");
    FrameSource diff = in.section((int) diffLength, "bsdiff diff stream");

    ZstdFrameReader controlReader = null;
    ZstdFrameReader diffReader = null;
    ZstdFrameReader extraReader = null;
    ZstdDictDecompress dictionary = null;
    try {
      if (controlLength > 0) {
        controlReader =
            new ZstdFrameReader(control, 1, maxControl, null, "the control stream");
      }
      DiffStream.Source diffSource = null;
      if (diffLength > 0) {
        diffReader = new ZstdFrameReader(diff, 1, maxDiff, null, "the diff stream");
        diffSource =
            (flags & FLAG_ZERO_RUNS) != 0
                ? DiffStream.zeroRunCoded(diffReader)
                : DiffStream.raw(diffReader);
      }
      if (!in.atEnd()) {
        if ((flags & FLAG_EXTRA_DICT) != 0) {
          if (oldBytes.remaining() == 0) {
            throw malformed("bsdiff extra stream wants the old file as dictionary, but it is empty");
          }
          dictionary = ZstdPatchFrom.rawDictionary(oldBytes);
        }
        extraReader = new ZstdFrameReader(in, 1, expectedSize, dictionary, "the extra stream");
      }
      new Patcher(oldBytes, expectedSize, out, controlReader, diffSource, extraReader).run();
      if (controlReader != null) {
        controlReader.finish();
      }
      if (diffSource != null) {
        diffSource.finish();
      }
      if (extraReader != null) {
        extraReader.finish();
      }
      if (!in.atEnd()) {
        throw malformed("bsdiff patch has bytes after its extra stream");
      }
    } finally {
      for (ZstdFrameReader reader : new ZstdFrameReader[] {controlReader, diffReader, extraReader}) {
        if (reader != null) {
          reader.close();
        }
      }
      if (dictionary != null) {
        dictionary.close();
      }
    }
  }

  private static void checkSectionLength(long length, long uncompressedCap, String what) {
    // A zstd frame never needs more than compressBound(content) bytes.
    long cap = Math.min(Integer.MAX_VALUE - 16, Zstd.compressBound(Math.min(uncompressedCap, 1L << 40)));
    if (length > cap) {
      throw malformed("bsdiff " + what + " stream of " + length + " bytes exceeds its cap of " + cap);
    }
  }

  /** {@code size * factor + extra} for non-negative arguments, saturating at Long.MAX_VALUE. */
  private static long bound(long size, long factor, long extra) {
    return size > (Long.MAX_VALUE - extra) / factor ? Long.MAX_VALUE : size * factor + extra;
  }

  /** Applies control triples, checking each against old, the output size and the streams. */
  private static final class Patcher {
    private final ByteBuffer old;
    private final int oldBase;
    private final long oldSize;
    private final long newSize;
    private final OutputStream out;
    private final ZstdFrameReader control;
    private final DiffStream.Source diff;
    private final ZstdFrameReader extra;
    private final byte[] controlBuffer = new byte[256];
    private int controlPos;
    private int controlLimit;
    private final byte[] buffer = new byte[BUFFER_SIZE];
    private final byte[] oldBuffer = new byte[BUFFER_SIZE];

    Patcher(
        ByteBuffer old,
        long newSize,
        OutputStream out,
        ZstdFrameReader control,
        DiffStream.Source diff,
        ZstdFrameReader extra) {
      this.old = old;
      this.oldBase = old.position();
      this.oldSize = old.remaining();
      this.newSize = newSize;
      this.out = out;
      this.control = control;
      this.diff = diff;
      this.extra = extra;
    }

    void run() throws IOException {
      long oldPos = 0;
      long newPos = 0;
      while (newPos < newSize) {
        long seek = Varints.unzigzag(readControl("seek"));
        long add = readControl("add length");
        long copy = readControl("copy length");
        if (seek < -oldPos || seek > oldSize - oldPos) {
          throw malformed(
              "bsdiff control seeks to old offset " + (oldPos + seek) + " outside the old file of "
                  + oldSize + " bytes");
        }
        oldPos += seek;
        if (add > oldSize - oldPos) {
          throw malformed("bsdiff control adds " + add + " bytes past the end of the old file");
        }
        if (add > newSize - newPos || copy > newSize - newPos - add) {
          throw malformed("bsdiff control writes past the expected size of " + newSize + " bytes");
        }
        if (add == 0 && copy == 0) {
          throw malformed("bsdiff control has an empty triple");
        }
        addDiff(oldPos, add);
        copyExtra(copy);
        oldPos += add;
        newPos += add + copy;
      }
      if (control != null && (controlPos < controlLimit || control.remaining() > 0)) {
        throw malformed("bsdiff control stream goes on after the expected size is reached");
      }
    }

    private long readControl(String what) throws IOException {
      if (control == null) {
        throw malformed("bsdiff control stream is missing");
      }
      return Varints.read(this::controlByte, "the bsdiff control " + what);
    }

    private int controlByte() throws IOException {
      if (controlPos == controlLimit) {
        int n = control.read(controlBuffer, 0, controlBuffer.length);
        if (n <= 0) {
          return -1;
        }
        controlPos = 0;
        controlLimit = n;
      }
      return controlBuffer[controlPos++] & 0xff;
    }

    private void addDiff(long oldPos, long add) throws IOException {
      if (add > 0 && diff == null) {
        throw malformed("bsdiff control adds bytes but the patch has no diff stream");
      }
      for (long done = 0; done < add; ) {
        int n = (int) Math.min(add - done, BUFFER_SIZE);
        diff.readFully(buffer, 0, n);
        old.get(oldBase + (int) (oldPos + done), oldBuffer, 0, n);
        for (int i = 0; i < n; i++) {
          buffer[i] += oldBuffer[i];
        }
        out.write(buffer, 0, n);
        done += n;
      }
    }

    private void copyExtra(long copy) throws IOException {
      if (copy > 0 && (extra == null || copy > extra.remaining())) {
        throw malformed("bsdiff control copies more bytes than the extra stream holds");
      }
      for (long done = 0; done < copy; ) {
        int n = (int) Math.min(copy - done, BUFFER_SIZE);
        extra.readFully(buffer, 0, n);
        out.write(buffer, 0, n);
        done += n;
      }
    }
  }
}
