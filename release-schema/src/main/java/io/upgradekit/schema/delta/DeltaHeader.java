package io.upgradekit.schema.delta;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.TreePaths;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The fixed part of a delta: format version, flags, the base and target tree hashes, the index
 * lengths, and (for a single-file base) the base file's name.
 *
 * @param version the format version, 1 to {@link DeltaFormat#MAX_VERSION}
 * @param flags {@link DeltaFormat} flag bits
 * @param baseTreeHash the tree the delta applies to
 * @param targetTreeHash the tree it produces
 * @param indexLength the index's size after decompression
 * @param indexCompressedLength the index's size in the file
 * @param baseName the single-file base's entry name, or null
 * @param indexOffset where the compressed index starts
 */
public record DeltaHeader(int version, int flags, String baseTreeHash, String targetTreeHash, int indexLength,
    int indexCompressedLength, String baseName, int indexOffset) {

  public boolean baseIsSingleFile() {
    return (flags & DeltaFormat.FLAG_BASE_SINGLE_FILE) != 0;
  }

  public boolean targetIsSingleFile() {
    return (flags & DeltaFormat.FLAG_TARGET_SINGLE_FILE) != 0;
  }

  /** Where the data section starts. */
  long dataOffset() {
    return (long) indexOffset + indexCompressedLength;
  }

  static byte[] write(int version, int flags, String base, String target, int indexLength, int compressedLength, String baseName) {
    byte[] name = baseName == null ? new byte[0] : baseName.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(DeltaFormat.FIXED_HEADER + (baseName == null ? 0 : 2 + name.length));
    b.put(DeltaFormat.MAGIC).putShort((short) version).putShort((short) flags);
    b.put(HexBytes.decode(base)).put(HexBytes.decode(target));
    b.putInt(indexLength).putInt(compressedLength);
    if (baseName != null) {
      b.putShort((short) name.length).put(name);
    }
    return b.array();
  }

  /** Parses and checks the header of the delta in {@code delta}; PATCH_MALFORMED if it is not one. */
  static DeltaHeader read(ByteBuffer delta) {
    ByteBuffer b = delta.duplicate().order(ByteOrder.BIG_ENDIAN);
    if (b.limit() < DeltaFormat.FIXED_HEADER) {
      throw ByteReader.malformed("only " + b.limit() + " bytes, shorter than a delta header");
    }
    byte[] magic = new byte[DeltaFormat.MAGIC.length];
    b.get(0, magic);
    if (!Arrays.equals(magic, DeltaFormat.MAGIC)) {
      throw ByteReader.malformed("not an Upgradekit delta (wrong magic)");
    }
    int version = b.getShort(8) & 0xffff;
    if (version < 1 || version > DeltaFormat.MAX_VERSION) {
      throw ByteReader.malformed("format version " + version + "; this updater reads versions 1 to "
          + DeltaFormat.MAX_VERSION + ": update the updater, or take the full package");
    }
    int flags = b.getShort(10) & 0xffff;
    if ((flags & ~DeltaFormat.KNOWN_FLAGS) != 0) {
      throw ByteReader.malformed("unknown flags " + Integer.toHexString(flags));
    }
    byte[] hash = new byte[32];
    b.get(12, hash);
    String base = Hashes.hex(hash);
    b.get(44, hash);
    String target = Hashes.hex(hash);
    long indexLength = b.getInt(76) & 0xffffffffL;
    long compressed = b.getInt(80) & 0xffffffffL;
    if (indexLength > DeltaFormat.MAX_INDEX || compressed > DeltaFormat.MAX_INDEX || indexLength == 0 || compressed == 0) {
      throw ByteReader.malformed("index of " + indexLength + " bytes (" + compressed + " compressed) is outside 1.."
          + DeltaFormat.MAX_INDEX);
    }
    int offset = DeltaFormat.FIXED_HEADER;
    String baseName = null;
    if ((flags & DeltaFormat.FLAG_BASE_SINGLE_FILE) != 0) {
      if (b.limit() < offset + 2) {
        throw ByteReader.malformed("truncated base name");
      }
      int n = b.getShort(offset) & 0xffff;
      if (n > b.limit() - offset - 2) {
        throw ByteReader.malformed("truncated base name");
      }
      byte[] name = new byte[n];
      b.get(offset + 2, name);
      baseName = ByteReader.utf8(name, 0, n, "base name");
      if (baseName.indexOf('/') >= 0) {
        throw ByteReader.malformed("the base name " + Names.quote(baseName) + " is not a single file name");
      }
      try {
        TreePaths.requireSafe(baseName);
      } catch (UpgradeException e) {
        throw ByteReader.malformed("the base name: " + e.getMessage());
      }
      offset += 2 + n;
    }
    if (compressed > b.limit() - offset) {
      throw ByteReader.malformed("truncated: the index runs past the end of the delta");
    }
    return new DeltaHeader(version, flags, base, target, (int) indexLength, (int) compressed, baseName, offset);
  }

  /** Lowercase hex SHA-256 to its 32 bytes. */
  static final class HexBytes {
    private HexBytes() {}

    static byte[] decode(String hex) {
      return HexFormat.of().parseHex(hex);
    }
  }
}
