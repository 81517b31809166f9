package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.DistributionJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Nodes are small: decoding must stream. Each method decodes an 80 MiB file in a JVM with the node
 * updater's real JVM options (bin/updater: a 64 MiB heap), which fails if the decoder buffers the
 * output or copies old onto the heap.
 */
class SmallHeapDecodeTest {
  private static final int SIZE = 80 << 20;

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(PatchMethod.class)
  void decodesFilesLargerThanTheHeap(PatchMethod method) throws Exception {
    // Compressible content keeps the patches cheap to make: the point is the decoder's memory.
    byte[] old = new byte[SIZE];
    for (int i = 0; i < SIZE; i++) {
      old[i] = (byte) (i / 4096 * 31 + (i & 15));
    }
    byte[] nu = old.clone();
    for (int i = 12_345; i < SIZE; i += 1 << 20) {
      nu[i] ^= 0x5a; // one changed byte per MiB
    }
    Path oldFile = Files.write(dir.resolve("old"), old);
    Path patchFile = Files.write(dir.resolve("patch"), patch(method, old, nu));
    Path out = dir.resolve("out");

    DistributionJvm.Result result = DistributionJvm.run(DecodeMain.class, method.name(), oldFile.toString(),
        patchFile.toString(), String.valueOf(SIZE), out.toString());

    assertThat(result.status()).as(result.output()).isZero();
    assertThat(Files.mismatch(out, dir.resolve("expected"))).isEqualTo(-1L);
  }

  private byte[] patch(PatchMethod method, byte[] old, byte[] nu) throws IOException {
    Files.write(dir.resolve("expected"), nu);
    switch (method) {
      case BSDIFF_ZSTD:
        // One triple over the whole file, as the encoder makes for in-place edits; building it
        // directly saves the test a 48 MiB suffix sort.
        return new TestData.BsdiffPatch().newSize(SIZE).triple(0, SIZE, 0).diff(diff(old, nu)).build();
      case ZSTD_PATCH_FROM:
        return ZstdPatchFrom.encode(old, nu, 1);
      case ZSTD:
        return ZstdFrameWriter.compress(nu, 1, null, 0);
      default:
        throw new AssertionError(method);
    }
  }

  private static byte[] diff(byte[] old, byte[] nu) {
    byte[] diff = new byte[old.length];
    for (int i = 0; i < diff.length; i++) {
      diff[i] = (byte) (nu[i] - old[i]);
    }
    return diff;
  }
}
