package io.upgradekit.schema.delta.codec;

import com.github.luben.zstd.ZstdDictContentType;
import com.github.luben.zstd.ZstdDictDecompress;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Streams the content of one hostile, standard zstd frame (with its magic number) that is held in
 * a buffer, such as a delta's index in a memory-mapped delta: read in place, decoded in small
 * steps, never more than the content size the caller expects. The frame is checked like a patch's
 * frames: content size recorded and equal to the expected size, no checksum or dictionary id, a
 * window of at most 2^27 bytes; zstd's own memory is bounded by that window, not by what the frame
 * claims, and nothing is allocated from the expected size.
 *
 * <p>Not thread-safe. Failures are {@link UpgradeException}s with {@link
 * ErrorCode#PATCH_MALFORMED}; {@link IOException} is never thrown for a buffer.
 */
public final class FrameInput extends InputStream {
  private final ZstdFrameReader reader;
  private final FrameSource source;
  private final ZstdDictDecompress dictionary;
  private final String what;

  private FrameInput(ZstdFrameReader reader, FrameSource source, ZstdDictDecompress dictionary, String what) {
    this.reader = reader;
    this.source = source;
    this.dictionary = dictionary;
    this.what = what;
  }

  /**
   * Opens the frame that fills {@code frame}'s remaining bytes.
   *
   * @param frame the compressed bytes, exactly one frame; not modified or moved
   * @param size the content size the frame must record and produce
   * @param rawDictionary the raw-content dictionary it was compressed with; empty for none
   * @param what names the frame in error messages ("the index")
   * @return a stream of exactly {@code size} bytes; call {@link #finish()} after reading them
   * @throws UpgradeException PATCH_MALFORMED if the frame header is not acceptable
   */
  public static FrameInput open(ByteBuffer frame, long size, byte[] rawDictionary, String what) {
    Objects.requireNonNull(frame, "frame");
    Objects.requireNonNull(rawDictionary, "rawDictionary");
    FrameSource source = FrameSource.of(frame);
    ZstdDictDecompress dictionary = null;
    try {
      if (rawDictionary.length > 0) {
        dictionary = new ZstdDictDecompress(rawDictionary, 0, rawDictionary.length, ZstdDictContentType.RAW_CONTENT);
      }
      ZstdFrameReader reader = new ZstdFrameReader(source, true, size, size, dictionary, what);
      return new FrameInput(reader, source, dictionary, what);
    } catch (IOException | RuntimeException e) {
      if (dictionary != null) {
        dictionary.close();
      }
      if (e instanceof UpgradeException u) {
        throw u;
      }
      throw Malformed.malformed(what + " cannot be read: " + e.getMessage(), e);
    }
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    Objects.checkFromIndexSize(off, len, b.length);
    try {
      return reader.read(b, off, len);
    } catch (IOException e) {
      throw Malformed.malformed(what + " cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * Checks that all content was read, that the frame ends there and that the buffer holds nothing
   * after it.
   *
   * @throws UpgradeException PATCH_MALFORMED otherwise
   */
  public void finish() {
    try {
      reader.finish();
      if (!source.atEnd()) {
        throw Malformed.malformed(what + " is followed by bytes that are not part of its zstd frame");
      }
    } catch (IOException e) {
      throw Malformed.malformed(what + " cannot be read: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    reader.close();
    if (dictionary != null) {
      dictionary.close();
    }
  }
}
