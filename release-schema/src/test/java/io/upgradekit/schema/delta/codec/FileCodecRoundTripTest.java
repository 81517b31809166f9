package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FileCodecRoundTripTest {

  static Stream<Arguments> pairs() {
    byte[] random = TestData.random(1, 50_000);
    byte[] structured = TestData.structured(2, 200_000);
    // Mostly random so that zstd's level 19 stays quick; structure comes from the edits.
    byte[] big = TestData.random(4, 3 << 20);
    List<Arguments> pairs = new ArrayList<>();
    for (PatchMethod method : PatchMethod.values()) {
      pairs.add(Arguments.of(method, "both empty", new byte[0], new byte[0]));
      pairs.add(Arguments.of(method, "empty old", new byte[0], structured));
      pairs.add(Arguments.of(method, "empty new", structured, new byte[0]));
      pairs.add(Arguments.of(method, "one byte each", new byte[] {1}, new byte[] {2}));
      pairs.add(Arguments.of(method, "identical", structured, structured.clone()));
      pairs.add(Arguments.of(method, "unrelated random", random, TestData.random(9, 40_000)));
      pairs.add(Arguments.of(method, "edited random", random, TestData.edited(random, 5)));
      pairs.add(Arguments.of(method, "edited structured", structured, TestData.edited(structured, 6)));
      pairs.add(Arguments.of(method, "shifted by one byte", structured, shifted(structured)));
      pairs.add(Arguments.of(method, "few megabytes", big, TestData.edited(big, 7)));
    }
    return pairs.stream();
  }

  private static byte[] shifted(byte[] bytes) {
    byte[] out = new byte[bytes.length];
    out[0] = 42;
    System.arraycopy(bytes, 0, out, 1, bytes.length - 1);
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("pairs")
  void roundTrips(PatchMethod method, String name, byte[] old, byte[] nu) throws IOException {
    EncodedPatch patch = FileCodec.encode(old, nu, EnumSet.of(method));

    assertThat(patch.method()).isEqualTo(method);
    assertThat(TestData.decode(method, old, patch.bytes(), nu.length)).isEqualTo(nu);
  }

  @Test
  void similarFilesGiveSmallPatches() {
    byte[] old = TestData.structured(2, 200_000);
    byte[] nu = TestData.edited(old, 6);
    int full = FileCodec.encode(old, nu, EnumSet.of(PatchMethod.ZSTD)).size();

    assertThat(FileCodec.encode(old, nu, EnumSet.of(PatchMethod.BSDIFF_ZSTD)).size()).isLessThan(full / 5);
    assertThat(FileCodec.encode(old, nu, EnumSet.of(PatchMethod.ZSTD_PATCH_FROM)).size()).isLessThan(full / 5);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("relatedAndUnrelated")
  void encodePicksTheSmallestMethod(String name, byte[] old, byte[] nu, boolean deltaWins) {
    int smallest = Integer.MAX_VALUE;
    for (PatchMethod method : PatchMethod.values()) {
      smallest = Math.min(smallest, FileCodec.encode(old, nu, EnumSet.of(method)).size());
    }

    EncodedPatch best = FileCodec.encode(old, nu);

    assertThat(best.size()).isEqualTo(smallest);
    if (deltaWins) {
      assertThat(best.method()).isNotEqualTo(PatchMethod.ZSTD);
    }
  }

  static Stream<Arguments> relatedAndUnrelated() {
    byte[] random = TestData.random(1, 50_000);
    byte[] structured = TestData.structured(2, 100_000);
    return Stream.of(
        Arguments.of("edited", random, TestData.edited(random, 5), true),
        Arguments.of("unrelated", random, structured, false),
        Arguments.of("unrelated incompressible", structured, TestData.random(3, 30_000), false));
  }

  @Test
  void emptyOldOnlyTriesZstd() {
    assertThat(FileCodec.encode(new byte[0], TestData.structured(1, 1000)).method())
        .isEqualTo(PatchMethod.ZSTD);
  }

  @Test
  void methodsThatDoNotApplyAreStillHonouredWhenNothingElseIsAllowed() throws IOException {
    byte[] nu = TestData.structured(1, 1000);
    EncodedPatch patch = FileCodec.encode(new byte[0], nu, EnumSet.of(PatchMethod.BSDIFF_ZSTD));

    assertThat(patch.method()).isEqualTo(PatchMethod.BSDIFF_ZSTD);
    assertThat(TestData.decode(PatchMethod.BSDIFF_ZSTD, new byte[0], patch.bytes(), nu.length)).isEqualTo(nu);
  }

  @Test
  void patchFromIsNotTriedForLargeOldFiles() {
    byte[] old = new byte[ZstdPatchFrom.MAX_OLD_SIZE + 1];
    byte[] nu = new byte[] {1, 2, 3};

    EncodedPatch patch =
        FileCodec.encode(old, nu, EnumSet.of(PatchMethod.ZSTD_PATCH_FROM, PatchMethod.ZSTD));

    assertThat(patch.method()).isEqualTo(PatchMethod.ZSTD);
  }

  @ParameterizedTest
  @MethodSource("methods")
  void readsOldFromAnyKindOfBufferWithoutMovingIt(PatchMethod method) throws IOException {
    byte[] old = TestData.structured(2, 100_000);
    byte[] nu = TestData.edited(old, 3);
    byte[] patch = FileCodec.encode(old, nu, EnumSet.of(method)).bytes();
    byte[] padded = new byte[old.length + 20];
    System.arraycopy(old, 0, padded, 7, old.length);
    ByteBuffer direct = ByteBuffer.allocateDirect(old.length + 20);
    direct.position(7);
    direct.put(old);
    List<ByteBuffer> buffers =
        List.of(
            ByteBuffer.wrap(padded, 7, old.length), // heap, position not 0
            ByteBuffer.wrap(padded, 7, old.length).slice(), // heap, array offset not 0
            ByteBuffer.wrap(old).asReadOnlyBuffer(), // no accessible array
            direct.flip().position(7).asReadOnlyBuffer()); // direct, like a mapped file
    for (ByteBuffer buffer : buffers) {
      int position = buffer.position();
      int limit = buffer.limit();
      ByteArrayOutputStream out = new ByteArrayOutputStream();

      FileCodec.decode(method, buffer, new ByteArrayInputStream(patch), nu.length, out);

      assertThat(out.toByteArray()).as("%s", buffer).isEqualTo(nu);
      assertThat(buffer.position()).isEqualTo(position);
      assertThat(buffer.limit()).isEqualTo(limit);
    }
  }

  static Stream<PatchMethod> methods() {
    return Stream.of(PatchMethod.values());
  }

  @Test
  void encodesAndDecodesInParallel() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        byte[] old = TestData.structured(i, 40_000);
        byte[] nu = TestData.edited(old, i);
        Callable<Boolean> task =
            () -> {
              EncodedPatch patch = FileCodec.encode(old, nu);
              return java.util.Arrays.equals(
                  TestData.decode(patch.method(), old, patch.bytes(), nu.length), nu);
            };
        results.add(pool.submit(task));
      }
      for (Future<Boolean> result : results) {
        assertThat(result.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void methodIdsAreStable() {
    assertThat(PatchMethod.BSDIFF_ZSTD.id()).isEqualTo(1);
    assertThat(PatchMethod.ZSTD_PATCH_FROM.id()).isEqualTo(2);
    assertThat(PatchMethod.ZSTD.id()).isEqualTo(3);
    for (PatchMethod method : PatchMethod.values()) {
      assertThat(PatchMethod.fromId(method.id())).isEqualTo(method);
    }
  }
}
