package io.upgradekit.schema.delta.codec;

import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decodes one patch the way a node does (old memory-mapped, patch and output streamed), for
 * {@link SmallHeapDecodeTest} to run in a JVM with a small heap. Arguments: method old patch
 * expectedSize out.
 */
public final class DecodeMain {
  private DecodeMain() {}

  public static void main(String[] args) throws Exception {
    try (FileChannel old = FileChannel.open(Path.of(args[1]));
        InputStream patch = Files.newInputStream(Path.of(args[2]));
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(Path.of(args[4])))) {
      FileCodec.decode(
          PatchMethod.valueOf(args[0]),
          old.map(FileChannel.MapMode.READ_ONLY, 0, old.size()),
          patch,
          Long.parseLong(args[3]),
          out);
    }
  }
}
