package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import com.github.luben.zstd.ZstdDictDecompress;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/** {@link PatchMethod#ZSTD}: the new file as one zstd frame, and the decoding of any such frame. */
final class ZstdFull {
  static final int DEFAULT_LEVEL = 19;
  /** Fast enough to estimate what the default level can do: within a few percent of it on binaries. */
  static final int QUICK_LEVEL = 1;

  private ZstdFull() {}

  static byte[] encode(byte[] newBytes, int level) {
    return ZstdFrameWriter.compress(newBytes, level, null, 0);
  }

  /** Streams one frame of exactly expectedSize bytes to out; the frame must end the patch. */
  static void decode(
      PatchInput in, long expectedSize, OutputStream out, ZstdDictDecompress dictionary)
      throws IOException {
    Objects.requireNonNull(out, "out");
    if (expectedSize < 0) {
      throw new IllegalArgumentException("expectedSize " + expectedSize + " is negative");
    }
    try (ZstdFrameReader reader = new ZstdFrameReader(in, expectedSize, expectedSize, dictionary, "the zstd frame")) {
      byte[] buffer = new byte[64 * 1024];
      for (int n; (n = reader.read(buffer, 0, buffer.length)) > 0; ) {
        out.write(buffer, 0, n);
      }
      reader.finish();
    }
    if (!in.atEnd()) {
      throw malformed("patch has bytes after its zstd frame");
    }
  }
}
