package io.upgradekit.schema.delta;

import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.PatchMethod;

/**
 * One codec-encoded byte string inside a delta: {@code decodedLength} bytes rebuilt by the codec
 * from {@code length} patch bytes at {@code offset} in the delta file (against a reference the
 * context names). A unit of length zero has no method and no patch bytes.
 */
record Unit(PatchMethod method, long decodedLength, long offset, int length) {
  static final Unit EMPTY = new Unit(null, 0, 0, 0);

  /** Index form: u8 method id (0 for an empty unit), varint decoded length, varint patch length. */
  static void write(ByteWriter index, EncodedPatch patch, long decodedLength) {
    if (decodedLength == 0) {
      index.u8(0);
      return;
    }
    index.u8(patch.method().id()).varint(decodedLength).varint(patch.bytes().length);
  }

  static Unit read(ByteReader in, DataCursor data, long maxDecoded, String what) {
    int id = in.u8();
    if (id == 0) {
      return EMPTY;
    }
    PatchMethod method;
    try {
      method = PatchMethod.fromId(id);
    } catch (RuntimeException e) {
      throw ByteReader.malformed(what + " names unknown patch method " + id);
    }
    long decoded = in.varint(maxDecoded, what + " size");
    if (decoded == 0) {
      throw ByteReader.malformed(what + " has a method but no bytes");
    }
    int length = in.varintInt(Integer.MAX_VALUE, what + " patch length");
    return new Unit(method, decoded, data.take(length, what), length);
  }
}
