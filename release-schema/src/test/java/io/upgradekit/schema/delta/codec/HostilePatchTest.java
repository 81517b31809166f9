package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.github.luben.zstd.EndDirective;
import com.github.luben.zstd.ZstdCompressCtx;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Random;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Decoding must end in PATCH_MALFORMED for anything malformed, and in nothing else. */
class HostilePatchTest {
  private static final byte[] OLD = TestData.structured(11, 3000);
  private static final byte[] NEW = TestData.edited(OLD, 12);

  private static byte[] patch(PatchMethod method) {
    return FileCodec.encode(OLD, NEW, EnumSet.of(method)).bytes();
  }

  private static void assertMalformed(ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.PATCH_MALFORMED));
  }

  private static void assertMalformed(PatchMethod method, byte[] old, byte[] patch, long expectedSize) {
    assertMalformed(() -> TestData.decode(method, old, patch, expectedSize));
  }

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void everyTruncationIsMalformed(PatchMethod method) throws IOException {
    byte[] patch = patch(method);
    assertThat(TestData.decode(method, OLD, patch, NEW.length)).isEqualTo(NEW);

    for (int length = 0; length < patch.length; length++) {
      byte[] prefix = Arrays.copyOf(patch, length);
      assertThatThrownBy(() -> TestData.decode(method, OLD, prefix, NEW.length))
          .as("prefix of %d of %d bytes", length, patch.length)
          .isInstanceOf(UpgradeException.class)
          .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.PATCH_MALFORMED));
    }
  }

  /** Patches inside a mapped delta are read in place; they must be checked exactly the same way. */
  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void patchesReadInPlaceAreCheckedTheSameWay(PatchMethod method) throws IOException {
    byte[] patch = patch(method);
    assertThat(TestData.decodeInPlace(method, OLD, patch, NEW.length)).isEqualTo(NEW);
    for (int length = 0; length < patch.length; length++) {
      byte[] prefix = Arrays.copyOf(patch, length);
      assertMalformed(() -> TestData.decodeInPlace(method, OLD, prefix, NEW.length));
    }
    assertMalformed(() -> TestData.decodeInPlace(method, OLD, Arrays.copyOf(patch, patch.length + 1), NEW.length));
    Random random = new Random(method.ordinal());
    for (int i = 0; i < 300; i++) {
      byte[] bad = patch.clone();
      bad[random.nextInt(bad.length)] ^= (byte) (1 << random.nextInt(8));
      try {
        assertThat(TestData.decodeInPlace(method, OLD, bad, NEW.length)).hasSize(NEW.length);
      } catch (UpgradeException e) {
        assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void trailingBytesAreMalformed(PatchMethod method) {
    byte[] patch = patch(method);
    assertMalformed(method, OLD, Arrays.copyOf(patch, patch.length + 1), NEW.length);
  }

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void wrongExpectedSizeIsMalformed(PatchMethod method) {
    byte[] patch = patch(method);
    for (long wrong : new long[] {0, 1, NEW.length - 1, NEW.length + 1, 1L << 40, Long.MAX_VALUE}) {
      assertMalformed(method, OLD, patch, wrong);
    }
  }

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void randomCorruptionIsMalformedOrHarmless(PatchMethod method) throws IOException {
    byte[] patch = patch(method);
    Random random = new Random(method.ordinal());
    int malformed = 0;
    for (int i = 0; i < 400; i++) {
      byte[] bad = patch.clone();
      for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
        bad[random.nextInt(bad.length)] ^= (byte) (1 << random.nextInt(8));
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try {
        FileCodec.decode(method, ByteBuffer.wrap(OLD), new ByteArrayInputStream(bad), NEW.length, out);
        // A flip in literal data can yield another file of the right size; the tree level's hash
        // check catches that. What must never happen is a wrong size.
        assertThat(out.size()).isEqualTo(NEW.length);
      } catch (UpgradeException e) {
        assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
        assertThat(out.size()).isLessThanOrEqualTo(NEW.length);
        malformed++;
      } catch (Throwable e) {
        fail("corruption %d escaped as %s", i, e, e);
      }
    }
    assertThat(malformed).as("corruptions caught").isGreaterThan(50);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 4, 255, -1, 256})
  void unknownMethodIdIsMalformed(int id) {
    assertMalformed(() -> PatchMethod.fromId(id));
  }

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void failuresOfTheOutputStreamStayIOExceptions(PatchMethod method) {
    byte[] patch = patch(method);
    OutputStream broken =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            throw new IOException("disk full");
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            throw new IOException("disk full");
          }
        };
    assertThatThrownBy(
            () -> FileCodec.decode(method, ByteBuffer.wrap(OLD), new ByteArrayInputStream(patch), NEW.length, broken))
        .isInstanceOf(IOException.class)
        .hasMessage("disk full");
  }

  // --- bsdiff container and control data ---------------------------------------------------

  private static final byte[] HELLO = "hello world".getBytes(StandardCharsets.US_ASCII);

  private static byte[] bsdiff(byte[] patch, long expectedSize) throws IOException {
    return TestData.decode(PatchMethod.BSDIFF_ZSTD, HELLO, patch, expectedSize);
  }

  /** The crafted patches below differ from this valid one in one respect each. */
  private static TestData.BsdiffPatch valid() {
    // "hello" from old (diff of zeros), then "XYZ" from extra, then "world" after a seek.
    return new TestData.BsdiffPatch()
        .newSize(13)
        .triple(0, 5, 3)
        .triple(1, 5, 0)
        .diff(new byte[10])
        .extra("XYZ".getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void craftedPatchesDecodeWhenValid() throws IOException {
    assertThat(new String(bsdiff(valid().build(), 13), StandardCharsets.US_ASCII)).isEqualTo("helloXYZworld");
  }

  @Test
  void badMagicVersionOrFlagsAreMalformed() {
    assertMalformed(() -> bsdiff(valid().magic(new byte[] {'B', 'S'}).build(), 13));
    assertMalformed(() -> bsdiff(valid().version(2).build(), 13));
    assertMalformed(() -> bsdiff(valid().version(0).build(), 13));
    assertMalformed(() -> bsdiff(valid().flags(4).build(), 13));
    assertMalformed(() -> bsdiff(valid().flags(0x80).build(), 13));
  }

  /** A zero-run coded diff stream from (zeros, literals) pairs; every literal is 1. */
  private static byte[] zeroRuns(long... pairs) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < pairs.length; i += 2) {
      Varints.write(out, pairs[i]);
      Varints.write(out, pairs[i + 1]);
      for (long j = 0; j < pairs[i + 1]; j++) {
        out.write(1);
      }
    }
    return out.toByteArray();
  }

  @Test
  void zeroRunCodedDiffsDecodeWhenValid() throws IOException {
    // Ten diff bytes: 4 zeros, one 1, 5 zeros; so old "hello" + "world" with the 'o' of hello +1.
    byte[] patch = valid().flags(Bsdiff.FLAG_ZERO_RUNS).diff(zeroRuns(4, 1, 5, 0)).build();
    assertThat(new String(bsdiff(patch, 13), StandardCharsets.US_ASCII)).isEqualTo("hellpXYZworld");
  }

  @Test
  void malformedZeroRunCodingIsMalformed() {
    TestData.BsdiffPatch coded = valid().flags(Bsdiff.FLAG_ZERO_RUNS);
    assertMalformed(() -> bsdiff(coded.diff(zeroRuns(0, 0, 10, 0)).build(), 13)); // empty pair
    assertMalformed(() -> bsdiff(coded.diff(zeroRuns(11, 0)).build(), 13)); // one zero unused
    assertMalformed(() -> bsdiff(coded.diff(zeroRuns(9, 0)).build(), 13)); // one zero short
    assertMalformed(() -> bsdiff(coded.diff(zeroRuns(1L << 62, 0)).build(), 13)); // run far too long
    byte[] literalsMissing = Arrays.copyOf(zeroRuns(0, 10), 5); // says 10 literals, has 3
    assertMalformed(() -> bsdiff(coded.diff(literalsMissing).build(), 13));
  }

  @Test
  void headerSizeOtherThanExpectedIsMalformed() {
    assertMalformed(() -> bsdiff(valid().newSize(14).build(), 13));
    assertMalformed(() -> bsdiff(valid().newSize(12).build(), 12));
  }

  @Test
  void negativeSeeksAreMalformed() {
    assertMalformed(() -> bsdiff(base().triple(-1, 5, 3).triple(1, 5, 0).build(), 13));
    assertMalformed(() -> bsdiff(base().triple(0, 5, 3).triple(-6, 5, 0).build(), 13));
    assertMalformed(() -> bsdiff(base().triple(0, 5, 3).triple(Long.MIN_VALUE / 2, 5, 0).build(), 13));
  }

  @Test
  void seeksPastTheOldFileAreMalformed() {
    assertMalformed(() -> bsdiff(base().triple(0, 5, 3).triple(HELLO.length, 5, 0).build(), 13));
    assertMalformed(() -> bsdiff(base().triple(0, 5, 3).triple(Long.MAX_VALUE / 2, 5, 0).build(), 13));
  }

  @Test
  void addsPastTheOldFileAreMalformed() {
    // Seek to 6 ("world") is fine, but 6 bytes from there run past the 11-byte old file.
    assertMalformed(() -> bsdiff(base().triple(0, 5, 2).triple(1, 6, 0).diff(new byte[11]).build(), 13));
  }

  @Test
  void writesPastTheExpectedSizeAreMalformed() {
    assertMalformed(() -> bsdiff(base().triple(0, 5, 3).triple(1, 5, 1).build(), 13)); // copy
    assertMalformed(() -> bsdiff(base().triple(0, 11, 3).diff(new byte[11]).build(), 13)); // add+copy
    assertMalformed(() -> bsdiff(base().triple(0, 5, Long.MAX_VALUE).build(), 13));
    assertMalformed(() -> bsdiff(base().triple(0, Long.MAX_VALUE, 0).build(), 13));
  }

  @Test
  void overflowingAndNonCanonicalNumbersAreMalformed() {
    byte[] tenBytes = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
        (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
    assertMalformed(() -> bsdiff(base().rawControl(new byte[] {0}).rawControl(tenBytes).rawControl(new byte[] {3}).build(), 13));
    // 2^63: one bit past what a long holds.
    byte[] twoTo63 = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
        (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01};
    assertMalformed(() -> bsdiff(base().rawControl(new byte[] {0}).rawControl(twoTo63).rawControl(new byte[] {3}).build(), 13));
    // 5 written in two bytes.
    assertMalformed(() -> bsdiff(base().rawControl(new byte[] {0, (byte) 0x85, 0x00, 3, 2, 5, 0}).build(), 13));
  }

  @Test
  void emptyTriplesAndLeftoverStreamsAreMalformed() {
    assertMalformed(() -> bsdiff(base().triple(0, 0, 0).triple(0, 5, 3).triple(1, 5, 0).build(), 13));
    assertMalformed(() -> bsdiff(valid().triple(0, 0, 1).build(), 13)); // control goes on
    assertMalformed(() -> bsdiff(valid().diff(new byte[11]).build(), 13)); // unused diff byte
    assertMalformed(() -> bsdiff(valid().extra("XYZW".getBytes(StandardCharsets.US_ASCII)).newSize(14).build(), 14));
    assertMalformed(() -> bsdiff(valid().diff(new byte[0]).extra(new byte[13]).build(), 13)); // no diff
  }

  @Test
  void sectionLengthsPastThePatchOrTheirCapsAreMalformed() {
    byte[] patch = valid().build();
    // Header: magic (2), version (1), flags (1), newSize 13 (1), control length (1).
    assertThat(patch[4]).isEqualTo((byte) 13);
    byte[] lying = patch.clone();
    lying[5] = (byte) 0x7f; // control length 127: more than the patch holds
    assertMalformed(() -> bsdiff(lying, 13));
    ByteArrayOutputStream huge = new ByteArrayOutputStream();
    huge.writeBytes(Arrays.copyOf(patch, 5));
    Varints.write(huge, 1L << 40); // control length far above any cap for 13 bytes
    huge.writeBytes(Arrays.copyOfRange(patch, 6, patch.length));
    assertMalformed(() -> bsdiff(huge.toByteArray(), 13));
  }

  @Test
  void extraStreamsNeedTheDictionaryTheirFlagPromises() throws IOException {
    byte[] piece = Arrays.copyOfRange(OLD, 100, 1100);
    byte[] withOldAsDictionary = ZstdFrameWriter.compress(piece, 19, OLD, 0);
    assertThat(withOldAsDictionary.length).as("refers to old").isLessThan(100);
    TestData.BsdiffPatch patch =
        new TestData.BsdiffPatch().newSize(1000).triple(0, 0, 1000).extraFrame(withOldAsDictionary);
    assertThat(TestData.decode(PatchMethod.BSDIFF_ZSTD, OLD, patch.flags(Bsdiff.FLAG_EXTRA_DICT).build(), 1000))
        .isEqualTo(piece);

    assertMalformed(PatchMethod.BSDIFF_ZSTD, OLD, patch.flags(0).build(), 1000); // dictionary missing
    assertMalformed(PatchMethod.BSDIFF_ZSTD, new byte[0], patch.flags(Bsdiff.FLAG_EXTRA_DICT).build(), 1000);
    assertMalformed(PatchMethod.BSDIFF_ZSTD, HELLO, patch.flags(Bsdiff.FLAG_EXTRA_DICT).build(), 1000);
  }

  @Test
  void hugeDeclaredSizesAllocateNothing() {
    // The header agrees with an expected size far beyond memory; caps computed from it must not
    // overflow, and the patch must fail when its control data runs out.
    long huge = Long.MAX_VALUE / 2;
    byte[] patch = valid().newSize(huge).build();
    CountingOutput out = new CountingOutput();

    assertMalformed(
        () -> FileCodec.decode(PatchMethod.BSDIFF_ZSTD, ByteBuffer.wrap(HELLO), new ByteArrayInputStream(patch), huge, out));
    assertThat(out.count).isEqualTo(13);
  }

  private static TestData.BsdiffPatch base() {
    return new TestData.BsdiffPatch()
        .newSize(13)
        .diff(new byte[10])
        .extra("XYZ".getBytes(StandardCharsets.US_ASCII));
  }

  // --- zstd bombs ------------------------------------------------------------------------------

  private static final long BOMB_SIZE = 512L << 20;
  private static final int SMALL = 1000;

  /** 512 MiB of zeros in one frame that records its size, as the encoder would write it. */
  private static byte[] bomb() {
    try (ZstdFrameWriter writer = new ZstdFrameWriter(1, BOMB_SIZE, null, 0)) {
      byte[] zeros = new byte[1 << 20];
      for (long i = 0; i < BOMB_SIZE; i += zeros.length) {
        writer.write(zeros, 0, zeros.length);
      }
      return writer.finish();
    }
  }

  /** Outputs that record how much they were given. */
  private static final class CountingOutput extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }

  private static long decodeCounting(PatchMethod method, byte[] patch, long expectedSize) {
    CountingOutput out = new CountingOutput();
    assertMalformed(
        () -> FileCodec.decode(method, ByteBuffer.wrap(OLD), new ByteArrayInputStream(patch), expectedSize, out));
    return out.count;
  }

  @Test
  void zstdBombsAreRefusedByTheirHeader() {
    byte[] bomb = bomb();
    assertThat(bomb.length).isLessThan(64 * 1024);

    assertThat(decodeCounting(PatchMethod.ZSTD, bomb, SMALL)).isZero();
    assertThat(decodeCounting(PatchMethod.ZSTD_PATCH_FROM, bomb, SMALL)).isZero();
    byte[] inBsdiff = new TestData.BsdiffPatch().newSize(SMALL).triple(0, 0, SMALL).extraFrame(bomb).build();
    assertThat(decodeCounting(PatchMethod.BSDIFF_ZSTD, inBsdiff, SMALL)).isZero();
  }

  @Test
  void zstdBombsThatLieAboutTheirSizeStopAtTheExpectedSize() {
    byte[] bomb = bomb();
    byte[] lying = withContentSize(bomb, SMALL);

    assertThat(decodeCounting(PatchMethod.ZSTD, lying, SMALL)).isLessThanOrEqualTo(SMALL);
    assertThat(decodeCounting(PatchMethod.ZSTD_PATCH_FROM, lying, SMALL)).isLessThanOrEqualTo(SMALL);
    byte[] inBsdiff = new TestData.BsdiffPatch().newSize(SMALL).triple(0, 0, SMALL).extraFrame(lying).build();
    assertThat(decodeCounting(PatchMethod.BSDIFF_ZSTD, inBsdiff, SMALL)).isLessThanOrEqualTo(SMALL);
  }

  @Test
  void zstdFramesWithoutContentSizeAreMalformed() {
    byte[] frame;
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setLevel(1);
      ctx.setMagicless(true);
      ctx.setChecksum(false);
      ctx.setContentSize(false);
      ByteBuffer out = ByteBuffer.allocate(1 << 16);
      ctx.compressByteBufferStream(out, ByteBuffer.wrap(new byte[SMALL]), EndDirective.END);
      frame = Arrays.copyOf(out.array(), out.position());
    }
    assertThat(frame[0] & 0xc0).as("no content size flag").isZero();

    assertThat(decodeCounting(PatchMethod.ZSTD, frame, SMALL)).isZero();
  }

  @Test
  void zstdFramesWithChecksumsOrMagicAreMalformed() throws IOException {
    byte[] content = TestData.structured(1, SMALL);
    byte[] valid = ZstdFrameWriter.compress(content, 3, null, 0);
    assertThat(TestData.decode(PatchMethod.ZSTD, OLD, valid, SMALL)).isEqualTo(content);
    byte[] withChecksum;
    byte[] withMagic;
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setMagicless(true);
      ctx.setChecksum(true);
      withChecksum = ctx.compress(content);
      ctx.setMagicless(false);
      ctx.setChecksum(false);
      withMagic = ctx.compress(content);
    }

    assertMalformed(PatchMethod.ZSTD, OLD, withChecksum, SMALL);
    assertMalformed(PatchMethod.ZSTD, OLD, withMagic, SMALL);
  }

  /** Rewrites the content size field of a magicless frame header. */
  private static byte[] withContentSize(byte[] frame, long size) {
    byte[] out = frame.clone();
    int descriptor = out[0] & 0xff;
    int fcsFlag = descriptor >>> 6;
    boolean singleSegment = (descriptor & 0x20) != 0;
    assertThat(fcsFlag).as("bomb records a 4-byte size").isEqualTo(2);
    int at = 1 + (singleSegment ? 0 : 1);
    for (int i = 0; i < 4; i++) {
      out[at + i] = (byte) (size >>> (8 * i));
    }
    return out;
  }
}
