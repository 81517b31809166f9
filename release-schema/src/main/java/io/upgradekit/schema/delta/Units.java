package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Runs the codec on a unit of a delta, mapping every codec failure to a documented code. */
final class Units {
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

  private Units() {}

  /** Decodes {@code unit} (against {@code reference}) into a scratch buffer, read in place. */
  static ByteBuffer decode(Unit unit, ByteBuffer reference, ByteBuffer data, Scratch scratch) {
    return decode(unit, reference, data, scratch, Math.max(DeltaFormat.MAX_META, DeltaFormat.MAX_CONTENT));
  }

  /** As above, for a unit of at most {@code cap} bytes. */
  static ByteBuffer decode(Unit unit, ByteBuffer reference, ByteBuffer data, Scratch scratch, long cap) {
    if (unit.decodedLength() > cap) {
      throw ByteReader.malformed("a unit of " + unit.decodedLength() + " bytes exceeds the cap");
    }
    BoundedOutput out = scratch.buffer(unit.decodedLength());
    decode(unit.method(), unit.decodedLength(), unit.offset(), unit.length(), reference, data, out);
    return out.toBuffer();
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
    try {
      // In place: the patch is a slice of the mapped delta, never copied onto the heap.
      FileCodec.decode(method, reference == null ? NOTHING : reference.duplicate(), data.slice((int) offset, length),
          size, out);
    } catch (UpgradeException e) {
      throw e;
    } catch (IOException | RuntimeException | StackOverflowError e) {
      throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "delta is malformed: a " + method
          + " patch does not decode: " + e, e);
    }
  }
}
