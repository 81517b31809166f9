package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * zstd frames may ask for a window of at most 2^27 bytes (docs/delta-format.md): a larger claim
 * is PATCH_MALFORMED before anything is decompressed, and zstd's memory follows the window, never
 * the content size a frame claims.
 */
@Timeout(60)
class ZstdWindowTest {
  private static final byte[] CONTENT = TestData.structured(3, 1000);

  /** The magicless frame our encoder writes for {@link #CONTENT}, with its header rewritten. */
  static byte[] reframe(byte[] frame, boolean magic, int windowDescriptor, long contentSize) {
    int at = magic ? 4 : 0;
    int descriptor = frame[at] & 0xff;
    int fcsFlag = descriptor >>> 6;
    boolean single = (descriptor & 0x20) != 0;
    int fcsBytes = fcsFlag == 0 ? (single ? 1 : 0) : 1 << fcsFlag;
    int headerEnd = at + 1 + (single ? 0 : 1) + fcsBytes;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(frame, 0, at);
    // Eight bytes of content size; single segment when no window descriptor is given.
    out.write(0xc0 | (windowDescriptor < 0 ? 0x20 : 0));
    if (windowDescriptor >= 0) {
      out.write(windowDescriptor);
    }
    for (int i = 0; i < 8; i++) {
      out.write((int) (contentSize >>> (8 * i)));
    }
    out.write(frame, headerEnd, frame.length - headerEnd);
    return out.toByteArray();
  }

  private static byte[] frame(int windowDescriptor, long contentSize) {
    return reframe(ZstdFull.encode(CONTENT, 3), false, windowDescriptor, contentSize);
  }

  private static int descriptor(int log, int mantissa) {
    return (log - 10) << 3 | mantissa;
  }

  private static void assertRefusedWindow(ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
      assertThat(e.getMessage()).contains("window");
    });
  }

  @ParameterizedTest
  @ValueSource(ints = {28, 31, 41})
  void aWindowAboveTheCapIsRefusedBeforeDecoding(int log) {
    // The blocks are valid: a decoder that believed the header would produce CONTENT.
    byte[] patch = frame(descriptor(log, 0), CONTENT.length);
    assertRefusedWindow(() -> TestData.decode(PatchMethod.ZSTD, new byte[0], patch, CONTENT.length));
    assertRefusedWindow(() -> TestData.decode(PatchMethod.ZSTD_PATCH_FROM, CONTENT, patch, CONTENT.length));
  }

  @Test
  void aWindowJustAboveTheCapIsRefused() {
    byte[] patch = frame(descriptor(27, 1), CONTENT.length); // 2^27 + 2^24
    assertRefusedWindow(() -> TestData.decode(PatchMethod.ZSTD, new byte[0], patch, CONTENT.length));
  }

  @Test
  void aFrameAtExactlyTheCapDecodes() throws Exception {
    byte[] patch = frame(descriptor(27, 0), CONTENT.length);
    assertThat(TestData.decode(PatchMethod.ZSTD, new byte[0], patch, CONTENT.length)).isEqualTo(CONTENT);
    assertThat(TestData.decode(PatchMethod.ZSTD_PATCH_FROM, CONTENT, patch, CONTENT.length)).isEqualTo(CONTENT);
  }

  @Test
  void aSingleSegmentFrameLargerThanTheCapIsRefused() {
    // A single-segment frame's window is its content size.
    long size = (1L << 27) + 1;
    byte[] patch = frame(-1, size);
    assertRefusedWindow(() -> TestData.decode(PatchMethod.ZSTD, new byte[0], patch, size));
  }

  @Test
  void aHugeContentSizeSizesNoBuffer() {
    // 1 TiB claimed (and expected: the signed size may be that large), window 1 MiB: zstd's buffers
    // follow the window, and the frame ends long before its claim.
    long size = 1L << 40;
    byte[] patch = frame(descriptor(20, 0), size);
    assertThatThrownBy(() -> TestData.decode(PatchMethod.ZSTD, new byte[0], patch, size))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED));
  }

  @Test
  void framesWithMagicAreCheckedTheSameWay() {
    byte[] frame;
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      frame = ctx.compress(CONTENT);
    }
    try (FrameInput in = FrameInput.open(ByteBuffer.wrap(frame), CONTENT.length, new byte[0], "the index")) {
      assertThat(in.readAllBytes()).isEqualTo(CONTENT);
      in.finish();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    byte[] wide = reframe(frame, true, descriptor(28, 0), CONTENT.length);
    assertRefusedWindow(() -> FrameInput.open(ByteBuffer.wrap(wide), CONTENT.length, new byte[0], "the index"));
    byte[] atCap = reframe(frame, true, descriptor(27, 0), CONTENT.length);
    try (FrameInput in = FrameInput.open(ByteBuffer.wrap(atCap), CONTENT.length, new byte[0], "the index")) {
      assertThat(in.readAllBytes()).isEqualTo(CONTENT);
      in.finish();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void zstdItselfIsLimitedToTheCapOnEveryContext() {
    // Second line: even a header this class did not check cannot make zstd allocate a larger
    // window. (An output buffer smaller than the frame's content makes zstd stream, which is
    // where it allocates the window; with room for all of it, zstd decodes in place.)
    byte[] patch = frame(descriptor(28, 0), CONTENT.length);
    try (ZstdDecompressCtx ctx = ZstdFrameReader.newContext(true)) {
      ByteBuffer out = ByteBuffer.allocate(100);
      assertThatThrownBy(() -> ctx.decompressByteBufferStream(out, ByteBuffer.wrap(patch)))
          .isInstanceOf(ZstdException.class).hasMessageContaining("too much memory");
    }
    byte[] atCap = frame(descriptor(27, 0), CONTENT.length);
    try (ZstdDecompressCtx ctx = ZstdFrameReader.newContext(true)) {
      ByteBuffer in = ByteBuffer.wrap(atCap);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      boolean done = false;
      while (!done) {
        ByteBuffer out = ByteBuffer.allocate(100);
        done = ctx.decompressByteBufferStream(out, in);
        all.write(out.array(), 0, out.position());
      }
      assertThat(all.toByteArray()).isEqualTo(CONTENT);
    }
  }

  @Test
  void theEncoderNeverAsksForMoreThanTheCap() {
    assertThat(ZstdPatchFrom.windowLog(ZstdPatchFrom.MAX_OLD_SIZE, 1L << 40)).isEqualTo(ZstdFrameReader.MAX_WINDOW_LOG);
    assertThat(ZstdPatchFrom.windowLog(1000, 1000)).isLessThan(ZstdFrameReader.MAX_WINDOW_LOG);
    assertThatThrownBy(() -> new ZstdFrameWriter(3, 10, null, ZstdFrameReader.MAX_WINDOW_LOG + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
