package io.upgradekit.schema.delta.codec;

import com.github.luben.zstd.EndDirective;
import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDictContentType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/**
 * Writes one zstd frame in the form {@link ZstdFrameReader} accepts: magicless, no checksum, no
 * dictionary id, content size recorded (it must be announced up front). Small writes are staged so
 * that zstd sees large chunks; a single large write goes to zstd directly.
 */
final class ZstdFrameWriter implements AutoCloseable {
  private static final int CHUNK = 128 * 1024;

  private final ZstdCompressCtx ctx;
  private final long contentSize;
  private final ByteBuffer stage;
  private final ByteBuffer out;
  private final ByteArrayOutputStream result;
  private long written;

  /**
   * @param level zstd level
   * @param contentSize exact number of bytes that will be written
   * @param dictionary raw-content dictionary, or null
   * @param windowLog window size to use, with long-distance matching; 0 for the level's default
   */
  ZstdFrameWriter(int level, long contentSize, byte[] dictionary, int windowLog) {
    this.contentSize = contentSize;
    // Most frames are small (class files, control streams): no 128 KiB buffers to zero for them.
    int outSize = (int) Math.min(CHUNK, Zstd.compressBound(contentSize));
    this.stage = ByteBuffer.allocate((int) Math.max(1, Math.min(CHUNK, contentSize)));
    this.out = ByteBuffer.allocate(outSize);
    this.result = new ByteArrayOutputStream(outSize);
    ctx = new ZstdCompressCtx();
    try {
      ctx.setLevel(level);
      ctx.setMagicless(true);
      ctx.setChecksum(false);
      ctx.setDictID(false);
      ctx.setContentSize(true);
      if (windowLog > ZstdFrameReader.MAX_WINDOW_LOG) {
        throw new IllegalArgumentException("window log " + windowLog + " exceeds what decoders accept");
      }
      if (windowLog > 0) {
        ctx.setWindowLog(windowLog);
        ctx.setEnableLongDistanceMatching(Zstd.ParamSwitch.ENABLE);
      }
      if (dictionary != null && dictionary.length > 0) {
        ctx.loadDict(dictionary, ZstdDictContentType.RAW_CONTENT);
      }
      ctx.setPledgedSrcSize(contentSize);
    } catch (RuntimeException e) {
      ctx.close();
      throw e;
    }
  }

  /** Compresses {@code bytes} as one frame. */
  static byte[] compress(byte[] bytes, int level, byte[] dictionary, int windowLog) {
    try (ZstdFrameWriter writer = new ZstdFrameWriter(level, bytes.length, dictionary, windowLog)) {
      writer.write(bytes, 0, bytes.length);
      return writer.finish();
    }
  }

  void write(byte[] b, int off, int len) {
    written += len;
    if (written > contentSize) {
      throw new IllegalStateException("wrote more than the announced " + contentSize + " bytes");
    }
    if (len >= stage.capacity()) {
      flushStage();
      feed(ByteBuffer.wrap(b, off, len), EndDirective.CONTINUE);
      return;
    }
    while (len > 0) {
      int n = Math.min(len, stage.remaining());
      stage.put(b, off, n);
      off += n;
      len -= n;
      if (!stage.hasRemaining()) {
        flushStage();
      }
    }
  }

  /** Ends the frame and returns it. */
  byte[] finish() {
    if (written != contentSize) {
      throw new IllegalStateException("wrote " + written + " of the announced " + contentSize + " bytes");
    }
    stage.flip();
    feed(stage, EndDirective.END);
    stage.clear();
    return result.toByteArray();
  }

  private void flushStage() {
    stage.flip();
    feed(stage, EndDirective.CONTINUE);
    stage.clear();
  }

  private void feed(ByteBuffer in, EndDirective directive) {
    while (true) {
      boolean done = ctx.compressByteBufferStream(out, in, directive);
      result.write(out.array(), 0, out.position());
      out.clear();
      if (directive == EndDirective.END ? done : !in.hasRemaining()) {
        return;
      }
    }
  }

  @Override
  public void close() {
    ctx.close();
  }
}
