package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * The zero-run coding of bsdiff's diff stream, and reading the diff stream in either coding.
 *
 * <p>Where new equals old the diff is zero, so diff streams of large files are long zero runs with
 * scattered non-zero bytes. zstd spends a sequence on every run and compresses such streams
 * noticeably worse than bzip2's BWT; coding them as {@code (zeroRun, literalLength, literals)}
 * first, all varints but the literals, makes zstd's job easy (a quarter smaller on jar and tar
 * diffs). Dense diffs, typical of class files, compress better raw, so the encoder keeps
 * whichever is smaller. Zero runs shorter than {@link #MIN_ZERO_RUN} stay inside the literals.
 */
final class DiffStream {
  static final int MIN_ZERO_RUN = 8;
  private static final int MAX_LITERALS = 64 * 1024;

  private DiffStream() {}

  /** Codes diff bytes as they come; the coded form is kept in memory (small for sparse diffs). */
  static final class Coder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final byte[] literals = new byte[MAX_LITERALS + MIN_ZERO_RUN];
    private int literalCount;
    private long zerosBefore; // zero run before the pending literals
    private int trailingZeros; // zeros at the end of the pending literals, not yet a run

    void write(byte[] b, int off, int len) {
      for (int i = off, end = off + len; i < end; i++) {
        byte v = b[i];
        if (v == 0) {
          if (literalCount == 0) {
            zerosBefore++;
          } else {
            literals[literalCount++] = 0;
            if (++trailingZeros == MIN_ZERO_RUN) {
              // The literals end here; this run starts the next pair.
              literalCount -= MIN_ZERO_RUN;
              emit();
              zerosBefore = MIN_ZERO_RUN;
            }
          }
        } else {
          literals[literalCount++] = v;
          trailingZeros = 0;
          if (literalCount >= MAX_LITERALS) {
            emit();
            zerosBefore = 0;
          }
        }
      }
    }

    private void emit() {
      Varints.write(out, zerosBefore);
      Varints.write(out, literalCount);
      out.write(literals, 0, literalCount);
      literalCount = 0;
      trailingZeros = 0;
    }

    byte[] finish() {
      if (literalCount > 0 || zerosBefore > 0) {
        // Trailing zeros of the literals are kept as literals: short, and still correct.
        emit();
      }
      return out.toByteArray();
    }
  }

  /** Diff bytes for the decoder, from either coding. */
  interface Source {
    /** Fills exactly len bytes, or fails if the stream ends first. */
    void readFully(byte[] b, int off, int len) throws IOException;

    /** Checks that every byte was used and the frame ends. */
    void finish() throws IOException;
  }

  static Source raw(ZstdFrameReader frame) {
    return new Source() {
      @Override
      public void readFully(byte[] b, int off, int len) throws IOException {
        if (len > frame.remaining()) {
          throw malformed("bsdiff control adds more bytes than the diff stream holds");
        }
        frame.readFully(b, off, len);
      }

      @Override
      public void finish() throws IOException {
        frame.finish();
      }
    };
  }

  static Source zeroRunCoded(ZstdFrameReader frame) {
    return new ZeroRunSource(frame);
  }

  private static final class ZeroRunSource implements Source {
    private final ZstdFrameReader frame;
    private final byte[] buffer = new byte[16 * 1024];
    private int pos;
    private int limit;
    private long zeros;
    private long literals;

    ZeroRunSource(ZstdFrameReader frame) {
      this.frame = frame;
    }

    @Override
    public void readFully(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (zeros == 0 && literals == 0) {
          nextPair();
        }
        int n;
        if (zeros > 0) {
          n = (int) Math.min(len, zeros);
          java.util.Arrays.fill(b, off, off + n, (byte) 0);
          zeros -= n;
        } else {
          if (pos == limit && !fill()) {
            throw malformed("the diff stream ends inside its literals");
          }
          n = (int) Math.min(Math.min(len, literals), limit - pos);
          System.arraycopy(buffer, pos, b, off, n);
          pos += n;
          literals -= n;
        }
        off += n;
        len -= n;
      }
    }

    private void nextPair() throws IOException {
      if (pos == limit && !fill()) {
        throw malformed("bsdiff control adds more bytes than the diff stream holds");
      }
      zeros = Varints.read(this::next, "the diff stream");
      literals = Varints.read(this::next, "the diff stream");
      if (zeros == 0 && literals == 0) {
        throw malformed("the diff stream has an empty run");
      }
    }

    private int next() throws IOException {
      if (pos == limit && !fill()) {
        return -1;
      }
      return buffer[pos++] & 0xff;
    }

    private boolean fill() throws IOException {
      int n = frame.read(buffer, 0, buffer.length);
      if (n <= 0) {
        return false;
      }
      pos = 0;
      limit = n;
      return true;
    }

    @Override
    public void finish() throws IOException {
      if (zeros > 0 || literals > 0 || pos < limit || frame.remaining() > 0) {
        throw malformed("the diff stream has bytes that the patch never uses");
      }
      frame.finish();
    }
  }
}
