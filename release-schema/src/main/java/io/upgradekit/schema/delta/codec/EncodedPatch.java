package io.upgradekit.schema.delta.codec;

import java.util.Objects;

/** A file's patch: the method and its bytes. Temporary stand-in until the codec branch is merged. */
public record EncodedPatch(PatchMethod method, byte[] bytes) {
  public EncodedPatch {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(bytes, "bytes");
  }
}
