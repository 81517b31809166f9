package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TreePaths;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The delta's index: the target tree and, for every file, how to produce it. This class reads it;
 * {@link DeltaBuilder} writes it. Reading checks every field against the base tree, the caps and
 * the format's rules, so the plan it returns only names real old files and sane sizes.
 */
final class DeltaIndex {
  private DeltaIndex() {}

  /**
   * How one target entry is produced.
   *
   * @param entry the target entry (file sizes and hashes are what the output must match)
   * @param kind a {@link DeltaFormat} kind
   * @param source the old entry's index in the base tree (KEEP, COPY, a PATCH's reference, ZIP), or -1
   * @param method the PATCH's codec method, null for an empty file
   * @param offset where the PATCH's bytes are in the delta
   * @param length how many PATCH bytes
   * @param program the ZIP program
   */
  record Op(TreeEntry entry, int kind, int source, PatchMethod method, long offset, int length, ZipProgram program) {}

  record Plan(List<Op> ops, PayloadTree target) {}

  static Plan parse(byte[] index, PayloadTree base, DataCursor data) {
    ByteReader in = new ByteReader(index);
    List<TreeEntry> baseEntries = base.entries();
    int baseCount = in.varintInt(PayloadTree.MAX_ENTRIES, "base entry count");
    if (baseCount != baseEntries.size()) {
      throw ByteReader.malformed("index counts " + baseCount + " base entries, the base tree has " + baseEntries.size());
    }
    Map<String, Integer> basePaths = new HashMap<>(baseEntries.size() * 2);
    for (int i = 0; i < baseEntries.size(); i++) {
      basePaths.put(baseEntries.get(i).path(), i);
    }
    int count = in.varintInt(PayloadTree.MAX_ENTRIES, "entry count");
    List<Op> ops = new ArrayList<>(Math.min(count, 4096));
    List<TreeEntry> entries = new ArrayList<>(Math.min(count, 4096));
    byte[] previous = new byte[0];
    String previousPath = null;
    for (int i = 0; i < count; i++) {
      int shared = in.varintInt(previous.length, "shared path prefix");
      int suffixLength = in.varintInt(TreePaths.MAX_PATH_LENGTH * 4, "path length");
      byte[] suffix = in.bytes(suffixLength);
      byte[] pathBytes = Arrays.copyOf(previous, shared + suffixLength);
      System.arraycopy(suffix, 0, pathBytes, shared, suffixLength);
      String path = ByteReader.utf8(pathBytes, 0, pathBytes.length, "path");
      if (previousPath != null && path.compareTo(previousPath) <= 0) {
        throw ByteReader.malformed("paths out of order at '" + path + "'");
      }
      previous = pathBytes;
      previousPath = path;
      int kindByte = in.u8();
      int kind = kindByte & 0x0f;
      boolean executable = (kindByte & DeltaFormat.EXECUTABLE) != 0;
      if ((kindByte & ~0x1f) != 0 || kind > DeltaFormat.ZIP || (executable && kind < DeltaFormat.KEEP)) {
        throw ByteReader.malformed("kind byte " + kindByte + " for '" + path + "'");
      }
      Op op;
      try {
        op = switch (kind) {
          case DeltaFormat.DIRECTORY -> new Op(TreeEntry.directory(path), kind, -1, null, 0, 0, null);
          case DeltaFormat.SYMLINK -> new Op(TreeEntry.symlink(path, in.string(TreePaths.MAX_PATH_LENGTH, "link target")),
              kind, -1, null, 0, 0, null);
          case DeltaFormat.KEEP -> {
            Integer source = basePaths.get(path);
            if (source == null) {
              throw ByteReader.malformed("'" + path + "' is kept but the base has no such path");
            }
            yield fromBase(path, kind, source, baseEntries, executable);
          }
          case DeltaFormat.COPY -> fromBase(path, kind, in.varintInt(baseCount - 1, "copy source"), baseEntries,
              executable);
          default -> produced(in, data, path, kind, executable, baseEntries);
        };
      } catch (UpgradeException e) {
        if (e.code() == ErrorCode.PATCH_MALFORMED) {
          throw e;
        }
        throw ByteReader.malformed(e.getMessage());
      }
      ops.add(op);
      entries.add(op.entry());
    }
    if (!in.atEnd()) {
      throw ByteReader.malformed(in.remaining() + " unread bytes after the index's last entry");
    }
    if (!data.exhausted()) {
      throw ByteReader.malformed("data bytes that no entry uses");
    }
    PayloadTree target;
    try {
      target = new PayloadTree(entries);
      TreeShape.require(target, ErrorCode.PATCH_MALFORMED);
    } catch (UpgradeException e) {
      throw e.code() == ErrorCode.PATCH_MALFORMED ? e : ByteReader.malformed(e.getMessage());
    }
    return new Plan(List.copyOf(ops), target);
  }

  private static Op fromBase(String path, int kind, int source, List<TreeEntry> base, boolean executable) {
    TreeEntry old = base.get(source);
    if (old.type() != TreeEntry.EntryType.FILE) {
      throw ByteReader.malformed("'" + path + "' is taken from '" + old.path() + "', which is not a file");
    }
    return new Op(TreeEntry.file(path, old.size(), old.sha256(), executable), kind, source, null, 0, 0, null);
  }

  private static Op produced(ByteReader in, DataCursor data, String path, int kind, boolean executable,
      List<TreeEntry> base) {
    long size = in.varint(DeltaFormat.MAX_FILE_SIZE, "size of '" + path + "'");
    String sha = Hashes.hex(in.bytes(32));
    TreeEntry entry = TreeEntry.file(path, size, sha, executable);
    if (kind == DeltaFormat.PATCH) {
      int source = in.varintInt(base.size(), "patch source") - 1;
      requireFile(base, source, path);
      int id = in.u8();
      if (id == 0) {
        if (size != 0) {
          throw ByteReader.malformed("'" + path + "' has " + size + " bytes but no patch");
        }
        return new Op(entry, kind, source, null, 0, 0, null);
      }
      PatchMethod method;
      try {
        method = PatchMethod.fromId(id);
      } catch (RuntimeException e) {
        throw ByteReader.malformed("'" + path + "' names unknown patch method " + id);
      }
      int length = in.varintInt(Integer.MAX_VALUE, "patch length");
      return new Op(entry, kind, source, method, data.take(length, "patch of '" + path + "'"), length, null);
    }
    if (kind != DeltaFormat.ZIP) {
      throw ByteReader.malformed("kind " + kind);
    }
    int source = in.varintInt(base.size() - 1, "zip source");
    requireFile(base, source, path);
    ZipProgram program = ZipProgram.read(in, data, size, 0);
    return new Op(entry, kind, source, null, 0, 0, program);
  }

  private static void requireFile(List<TreeEntry> base, int source, String path) {
    if (source >= 0 && base.get(source).type() != TreeEntry.EntryType.FILE) {
      throw ByteReader.malformed("'" + path + "' is patched against '" + base.get(source).path()
          + "', which is not a file");
    }
  }

  /** Shared-prefix coding of a path against the previous one, in UTF-8 bytes. */
  static void writePath(ByteWriter out, byte[] previous, String path) {
    byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
    int shared = 0;
    int max = Math.min(previous.length, bytes.length);
    while (shared < max && previous[shared] == bytes[shared]) {
      shared++;
    }
    out.varint(shared).varint(bytes.length - shared).bytes(bytes, shared, bytes.length - shared);
  }
}
