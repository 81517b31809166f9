package io.upgradekit.schema.delta.codec;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;

/** Generated inputs and small helpers shared by the codec tests. */
final class TestData {
  private TestData() {}

  static byte[] random(long seed, int size) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /**
   * Text-like data from a small vocabulary: compressible, with many repeats, like class files and
   * resources.
   */
  static byte[] structured(long seed, int size) {
    String[] words = {
      "public ", "static ", "final ", "class ", "return ", "void ", "int ", "String ", "(", ")",
      "{\n", "}\n", ";\n", "io/upgradekit/", "java/lang/Object", "\u0000\u0001", "\u00ff\u00fe",
    };
    Random random = new Random(seed);
    ByteArrayOutputStream out = new ByteArrayOutputStream(size + 32);
    while (out.size() < size) {
      if (random.nextInt(20) == 0) {
        out.write(random.nextInt(256));
      } else {
        out.writeBytes(words[random.nextInt(words.length)].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    return java.util.Arrays.copyOf(out.toByteArray(), size);
  }

  /**
   * A new version of {@code old}: blocks moved around, some bytes changed, something inserted and
   * something deleted, as between two builds of the same file.
   */
  static byte[] edited(byte[] old, long seed) {
    Random random = new Random(seed);
    ByteArrayOutputStream out = new ByteArrayOutputStream(old.length + 1024);
    int block = Math.max(1, old.length / 8);
    int[] order = {0, 1, 3, 2, 4, 6, 5, 7, 8};
    for (int b : order) {
      int from = b * block;
      if (from >= old.length) {
        continue;
      }
      int to = b == 8 ? old.length : Math.min(old.length, from + block);
      byte[] part = java.util.Arrays.copyOfRange(old, from, to);
      for (int i = 0; i < part.length / 200 + 1 && part.length > 0; i++) {
        part[random.nextInt(part.length)] ^= (byte) (1 + random.nextInt(255));
      }
      if (b == 5) {
        continue; // deleted
      }
      out.writeBytes(part);
      if (b == 2) {
        out.writeBytes(random(seed + 1, 300)); // inserted
      }
    }
    return out.toByteArray();
  }

  static byte[] decode(PatchMethod method, byte[] old, byte[] patch, long expectedSize)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FileCodec.decode(
        method, ByteBuffer.wrap(old).asReadOnlyBuffer(), new ByteArrayInputStream(patch), expectedSize, out);
    return out.toByteArray();
  }

  /** As {@link #decode}, with the patch read in place from a (direct, read-only) buffer. */
  static byte[] decodeInPlace(PatchMethod method, byte[] old, byte[] patch, long expectedSize)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer buffer = ByteBuffer.allocateDirect(patch.length).put(patch).flip().asReadOnlyBuffer();
    FileCodec.decode(method, ByteBuffer.wrap(old).asReadOnlyBuffer(), buffer, expectedSize, out);
    assert buffer.position() == 0 && buffer.limit() == patch.length;
    return out.toByteArray();
  }

  /** Builds bsdiff containers from explicit parts, to write patches the encoder never would. */
  static final class BsdiffPatch {
    private final ByteArrayOutputStream control = new ByteArrayOutputStream();
    private byte[] diff = new byte[0];
    private byte[] extra = new byte[0];
    private byte[] extraFrame;
    private long newSize;
    private byte[] magic = Bsdiff.MAGIC;
    private int version = Bsdiff.VERSION;
    private int flags;

    BsdiffPatch newSize(long size) {
      this.newSize = size;
      return this;
    }

    BsdiffPatch triple(long seek, long add, long copy) {
      Varints.write(control, Varints.zigzag(seek));
      Varints.write(control, add);
      Varints.write(control, copy);
      return this;
    }

    BsdiffPatch rawControl(byte[] bytes) {
      control.writeBytes(bytes);
      return this;
    }

    BsdiffPatch diff(byte[] bytes) {
      this.diff = bytes;
      return this;
    }

    BsdiffPatch extra(byte[] bytes) {
      this.extra = bytes;
      return this;
    }

    /** Uses {@code frame} as the compressed extra stream, as is. */
    BsdiffPatch extraFrame(byte[] frame) {
      this.extraFrame = frame;
      return this;
    }

    BsdiffPatch flags(int f) {
      this.flags = f;
      return this;
    }

    BsdiffPatch magic(byte[] bytes) {
      this.magic = bytes;
      return this;
    }

    BsdiffPatch version(int v) {
      this.version = v;
      return this;
    }

    byte[] build() {
      byte[] c = frame(control.toByteArray());
      byte[] d = frame(diff);
      byte[] e = extraFrame != null ? extraFrame : frame(extra);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(magic);
      out.write(version);
      out.write(flags);
      Varints.write(out, newSize);
      Varints.write(out, c.length);
      Varints.write(out, d.length);
      out.writeBytes(c);
      out.writeBytes(d);
      out.writeBytes(e);
      return out.toByteArray();
    }

    private static byte[] frame(byte[] content) {
      return content.length == 0 ? content : ZstdFrameWriter.compress(content, 3, null, 0);
    }
  }
}
