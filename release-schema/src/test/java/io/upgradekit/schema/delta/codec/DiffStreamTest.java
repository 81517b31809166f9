package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.EnumSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DiffStreamTest {

  private static byte[] roundTrip(byte[] diff, int chunk) throws IOException {
    DiffStream.Coder coder = new DiffStream.Coder();
    for (int off = 0; off < diff.length; off += chunk) {
      coder.write(diff, off, Math.min(chunk, diff.length - off));
    }
    byte[] frame = ZstdFrameWriter.compress(coder.finish(), 3, null, 0);
    byte[] out = new byte[diff.length];
    try (ZstdFrameReader reader =
        new ZstdFrameReader(FrameSource.of(frame), 0, Long.MAX_VALUE, null, "test")) {
      DiffStream.Source source = DiffStream.zeroRunCoded(reader);
      for (int off = 0; off < out.length; off += 777) {
        source.readFully(out, off, Math.min(777, out.length - off));
      }
      source.finish();
    }
    return out;
  }

  @Test
  void codesAndDecodesSparseDenseAndEdgeCases() throws IOException {
    Random random = new Random(7);
    byte[] sparse = new byte[300_000];
    for (int i = 0; i < 2_000; i++) {
      sparse[random.nextInt(sparse.length)] = (byte) (1 + random.nextInt(255));
    }
    byte[] dense = TestData.random(8, 200_000); // literal runs longer than one pair holds
    byte[] shortZeroRuns = new byte[10_000];
    for (int i = 0; i < shortZeroRuns.length; i++) {
      shortZeroRuns[i] = (byte) (i % 9 < 3 ? 0 : 5); // zero runs of 3 stay literals
    }
    byte[] endsInZeros = {1, 2, 0, 0, 0};
    byte[] startsWithZeros = new byte[20];
    startsWithZeros[19] = 9;
    for (byte[] diff : new byte[][] {sparse, dense, shortZeroRuns, endsInZeros, startsWithZeros, new byte[1000], {4}}) {
      for (int chunk : new int[] {1, 7, 65536}) {
        assertThat(roundTrip(diff, chunk)).isEqualTo(diff);
      }
    }
  }

  @Test
  void bsdiffKeepsTheSmallerCodingOfTheDiffStream() {
    byte[] old = TestData.random(1, 400_000);
    byte[] sparse = old.clone();
    for (int i = 100; i < sparse.length; i += 997) {
      sparse[i]++;
    }
    byte[] dense = old.clone();
    for (int i = 0; i < dense.length; i += 2) {
      dense[i] += (byte) (i % 7);
    }

    assertThat(flags(Bsdiff.encode(old, sparse)) & Bsdiff.FLAG_ZERO_RUNS).isEqualTo(Bsdiff.FLAG_ZERO_RUNS);
    assertThat(flags(Bsdiff.encode(old, dense)) & Bsdiff.FLAG_ZERO_RUNS).isZero();
    assertThat(FileCodec.encode(old, sparse, EnumSet.of(PatchMethod.BSDIFF_ZSTD)).size())
        .isLessThan(FileCodec.encode(old, sparse, EnumSet.of(PatchMethod.ZSTD_PATCH_FROM)).size());
  }

  @Test
  void bsdiffUsesOldAsDictionaryForTheExtraStreamWhenThatIsSmaller() throws IOException {
    byte[] old = TestData.structured(5, 20_000);
    Random random = new Random(5);
    java.io.ByteArrayOutputStream pieces = new java.io.ByteArrayOutputStream();
    while (pieces.size() < 3000) {
      // Six bytes are too short for bsdiff's matches but not for zstd's.
      pieces.write(old, random.nextInt(old.length - 6), 6);
      pieces.write(random.nextInt(256));
    }
    byte[] nu = pieces.toByteArray();

    byte[] patch = Bsdiff.encode(old, nu);

    assertThat(flags(patch) & Bsdiff.FLAG_EXTRA_DICT).isEqualTo(Bsdiff.FLAG_EXTRA_DICT);
    assertThat(TestData.decode(PatchMethod.BSDIFF_ZSTD, old, patch, nu.length)).isEqualTo(nu);
    assertThat(flags(Bsdiff.encode(TestData.random(1, 1000), TestData.random(2, 1000))) & Bsdiff.FLAG_EXTRA_DICT)
        .as("random old is no help")
        .isZero();
  }

  private static int flags(byte[] bsdiffPatch) {
    return bsdiffPatch[3];
  }
}
