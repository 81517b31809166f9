package io.upgradekit.schema.delta.codec;

import java.util.Arrays;
import java.util.Objects;

/**
 * One file's patch: the method that made it and its bytes, which {@link FileCodec#decode} reads
 * back given the same method.
 *
 * <p>The array is not copied (patches can be megabytes and are passed straight to the writer of
 * the delta); treat it as read-only. Equality compares the bytes.
 *
 * @param method how {@code bytes} is encoded
 * @param bytes the patch, without any framing of its own length or method
 */
public record EncodedPatch(PatchMethod method, byte[] bytes) {
  /**
   * Checks that neither part is null.
   *
   * @param method how {@code bytes} is encoded
   * @param bytes the patch, not copied
   */
  public EncodedPatch {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(bytes, "bytes");
  }

  /**
   * The patch's size.
   *
   * @return the number of bytes in {@link #bytes()}
   */
  public int size() {
    return bytes.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EncodedPatch other
        && method == other.method
        && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return 31 * method.hashCode() + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "EncodedPatch[" + method + ", " + bytes.length + " bytes]";
  }
}
