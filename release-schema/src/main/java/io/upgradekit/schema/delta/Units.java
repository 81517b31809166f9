package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Runs the codec on a unit of a delta, mapping every codec failure to a documented code. */
final class Units {
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

  private Units() {}

  /** Decodes {@code unit} (against {@code reference}) into memory. */
  static byte[] decode(Unit unit, ByteBuffer reference, ByteBuffer data) {
    if (unit.decodedLength() > Math.max(DeltaFormat.MAX_META, DeltaFormat.MAX_CONTENT)) {
      throw ByteReader.malformed("a unit of " + unit.decodedLength() + " bytes exceeds the cap");
    }
    BoundedOutput out = BoundedOutput.inMemory(unit.decodedLength());
    decode(unit.method(), unit.decodedLength(), unit.offset(), unit.length(), reference, data, out);
    return out.toByteArray();
  }

  /**
   * Decodes {@code length} patch bytes at {@code offset} of {@code data} into exactly {@code size}
   * bytes on {@code out}.
   */
  static void decode(PatchMethod method, long size, long offset, int length, ByteBuffer reference,
      ByteBuffer data, OutputStream out) {
    if (size == 0) {
      return;
    }
    InputStream patch = new BufferInputStream(data.slice((int) offset, length));
    try {
      FileCodec.decode(method, reference == null ? NOTHING : reference.duplicate(), patch, size, out);
    } catch (UpgradeException e) {
      throw e;
    } catch (IOException | RuntimeException | StackOverflowError e) {
      throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "delta is malformed: a " + method
          + " patch does not decode: " + e, e);
    }
  }

  /** An input stream over a buffer's remaining bytes. */
  static final class BufferInputStream extends InputStream {
    private final ByteBuffer buffer;

    BufferInputStream(ByteBuffer buffer) {
      this.buffer = buffer;
    }

    @Override
    public int read() {
      return buffer.hasRemaining() ? buffer.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int offset, int length) {
      if (length == 0) {
        return 0;
      }
      if (!buffer.hasRemaining()) {
        return -1;
      }
      int n = Math.min(length, buffer.remaining());
      buffer.get(b, offset, n);
      return n;
    }

    @Override
    public int available() {
      return buffer.remaining();
    }

    @Override
    public long skip(long n) {
      int k = (int) Math.max(0, Math.min(n, buffer.remaining()));
      buffer.position(buffer.position() + k);
      return k;
    }
  }
}
