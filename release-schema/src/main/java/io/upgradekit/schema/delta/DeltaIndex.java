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
 * The delta's index: its groups and the target tree with, for every file, how to produce it. This
 * class reads it; {@link DeltaBuilder} writes it. Reading checks every field against the base
 * tree, the caps and the format's rules, so the plan it returns only names real old files, sane
 * sizes and stream ranges that add up.
 */
final class DeltaIndex {
  private DeltaIndex() {}

  /**
   * A group: two codec units whose decoded bytes its members share. The meta stream holds zip
   * metadata, the content stream file bytes and zip entry bytes; each is encoded against the
   * members' old counterparts, concatenated in entry order.
   */
  record Group(Unit meta, Unit content) {}

  /**
   * How one target entry is produced.
   *
   * @param entry the target entry (file sizes and hashes are what the output must match)
   * @param kind a {@link DeltaFormat} kind
   * @param source the old entry's index in the base tree, or -1 (for SAME: the target entry's index)
   * @param method a PATCH's codec method, null for an empty file
   * @param offset where a PATCH's bytes are in the delta
   * @param length how many PATCH bytes
   * @param program a ZIP's program
   * @param group a SOLID or ZIP member's group, else -1
   * @param metaAt where a ZIP member's metadata starts in its group's meta stream
   * @param contentAt where a member's bytes start in its group's content stream
   */
  record Op(TreeEntry entry, int kind, int source, PatchMethod method, long offset, int length, ZipProgram program,
      int group, long metaAt, long contentAt) {
    static Op simple(TreeEntry entry, int kind, int source) {
      return new Op(entry, kind, source, null, 0, 0, null, -1, 0, 0);
    }
  }

  /** @param deflater the builder's {@link Deflation#fingerprint()} if any zip is rebuilt, else 0 */
  record Plan(int deflater, List<Group> groups, List<Op> ops, PayloadTree target) {}

  /**
   * Reads an index, in memory or as it streams from its frame. What the plan holds is bounded by
   * the caps (entries, name bytes, zip ops), counted as they are read, so an index that describes
   * more than a node can hold is refused before it is held, however well it compresses.
   */
  static Plan parse(ByteReader in, PayloadTree base, DataCursor data, int version) {
    List<TreeEntry> baseEntries = base.entries();
    int baseCount = in.varintInt(PayloadTree.MAX_ENTRIES, "base entry count");
    if (baseCount != baseEntries.size()) {
      throw ByteReader.malformed("index counts " + baseCount + " base entries, the base tree has " + baseEntries.size());
    }
    int deflater = (int) in.varint(0xffffffffL, "deflater fingerprint");
    int groupCount = in.varintInt(DeltaFormat.MAX_GROUPS, "group count");
    List<Group> groups = new ArrayList<>(groupCount);
    for (int g = 0; g < groupCount; g++) {
      groups.add(new Group(Unit.read(in, data, DeltaFormat.MAX_META, "group meta"),
          Unit.read(in, data, DeltaFormat.MAX_CONTENT, "group content")));
    }
    long[] metaUsed = new long[groupCount];
    long[] contentUsed = new long[groupCount];
    Map<String, Integer> basePaths = new HashMap<>(baseEntries.size() * 2);
    for (int i = 0; i < baseEntries.size(); i++) {
      basePaths.put(baseEntries.get(i).path(), i);
    }
    int count = in.varintInt(PayloadTree.MAX_ENTRIES, "entry count");
    List<Op> ops = new ArrayList<>(Math.min(count, 4096));
    List<TreeEntry> entries = new ArrayList<>(Math.min(count, 4096));
    Budget budget = new Budget();
    byte[] previous = new byte[0];
    String previousPath = null;
    for (int i = 0; i < count; i++) {
      int shared = in.varintInt(previous.length, "shared path prefix");
      int suffixLength = in.varintInt(TreePaths.MAX_PATH_BYTES - shared, "path length");
      budget.names(shared + suffixLength);
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
      if ((kindByte & ~0x1f) != 0 || kind > DeltaFormat.SAME || (executable && kind < DeltaFormat.KEEP)) {
        throw ByteReader.malformed("kind byte " + kindByte + " for '" + path + "'");
      }
      Op op;
      try {
        op = switch (kind) {
          case DeltaFormat.DIRECTORY -> Op.simple(TreeEntry.directory(path), kind, -1);
          case DeltaFormat.SYMLINK -> {
            String target = in.string(TreePaths.MAX_PATH_BYTES, "link target");
            budget.names(TreePaths.utf8Length(target));
            yield Op.simple(TreeEntry.symlink(path, target), kind, -1);
          }
          case DeltaFormat.KEEP -> {
            Integer source = basePaths.get(path);
            if (source == null) {
              throw ByteReader.malformed("'" + path + "' is kept but the base has no such path");
            }
            // The base's own string: an unchanged tree costs no second copy of its paths.
            yield fromBase(baseEntries.get(source).path(), kind, source, baseEntries, executable);
          }
          case DeltaFormat.COPY -> fromBase(path, kind, in.varintInt(baseCount - 1, "copy source"), baseEntries,
              executable);
          case DeltaFormat.SAME -> {
            int source = in.varintInt(i - 1, "same-as entry");
            TreeEntry first = entries.get(source);
            if (first.type() != TreeEntry.EntryType.FILE) {
              throw ByteReader.malformed("'" + path + "' repeats '" + first.path() + "', which is not a file");
            }
            yield Op.simple(TreeEntry.file(path, first.size(), first.sha256(), executable), kind, source);
          }
          default -> produced(in, data, path, kind, executable, baseEntries, groups, metaUsed, contentUsed, budget,
              version);
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
      throw ByteReader.malformed("the index goes on after its last entry");
    }
    if (!data.exhausted()) {
      throw ByteReader.malformed("data bytes that no entry uses");
    }
    for (int g = 0; g < groupCount; g++) {
      if (metaUsed[g] != groups.get(g).meta().decodedLength()
          || contentUsed[g] != groups.get(g).content().decodedLength()) {
        throw ByteReader.malformed("group " + g + "'s members do not use exactly its streams");
      }
    }
    PayloadTree target;
    try {
      target = new PayloadTree(entries);
      TreeShape.require(target, ErrorCode.PATCH_MALFORMED);
    } catch (UpgradeException e) {
      throw e.code() == ErrorCode.PATCH_MALFORMED ? e : ByteReader.malformed(e.getMessage());
    }
    return new Plan(deflater, List.copyOf(groups), List.copyOf(ops), target);
  }

  private static Op fromBase(String path, int kind, int source, List<TreeEntry> base, boolean executable) {
    TreeEntry old = base.get(source);
    if (old.type() != TreeEntry.EntryType.FILE) {
      throw ByteReader.malformed("'" + path + "' is taken from '" + old.path() + "', which is not a file");
    }
    return Op.simple(TreeEntry.file(path, old.size(), old.sha256(), executable), kind, source);
  }

  private static Op produced(ByteReader in, DataCursor data, String path, int kind, boolean executable,
      List<TreeEntry> base, List<Group> groups, long[] metaUsed, long[] contentUsed, Budget budget, int version) {
    long size = in.varint(DeltaFormat.MAX_FILE_SIZE, "size of '" + path + "'");
    String sha = Hashes.hex(in.bytes(32));
    TreeEntry entry = TreeEntry.file(path, size, sha, executable);
    switch (kind) {
      case DeltaFormat.PATCH -> {
        int source = source(in, base, path, true);
        int id = in.u8();
        if (id == 0) {
          if (size != 0) {
            throw ByteReader.malformed("'" + path + "' has " + size + " bytes but no patch");
          }
          return Op.simple(entry, kind, source);
        }
        PatchMethod method;
        try {
          method = PatchMethod.fromId(id);
        } catch (RuntimeException e) {
          throw ByteReader.malformed("'" + path + "' names unknown patch method " + id);
        }
        int length = in.varintInt(Integer.MAX_VALUE, "patch length");
        return new Op(entry, kind, source, method, data.take(length, "patch of '" + path + "'"), length, null, -1, 0, 0);
      }
      case DeltaFormat.SOLID -> {
        int source = source(in, base, path, true);
        int group = in.varintInt(groups.size() - 1, "group");
        long at = contentUsed[group];
        contentUsed[group] += size;
        return new Op(entry, kind, source, null, 0, 0, null, group, 0, at);
      }
      case DeltaFormat.ZIP -> {
        int source = source(in, base, path, false);
        int group = in.varintInt(groups.size() - 1, "group");
        ZipProgram program = ZipProgram.read(in, size, 0, budget, data, version);
        long metaAt = metaUsed[group];
        long contentAt = contentUsed[group];
        metaUsed[group] += program.totalMeta();
        contentUsed[group] += program.totalContent();
        return new Op(entry, kind, source, null, 0, 0, program, group, metaAt, contentAt);
      }
      default -> throw ByteReader.malformed("kind " + kind);
    }
  }

  /**
   * Counts what a plan holds as the index is read: the bytes of its paths and link targets against
   * {@link PayloadTree#MAX_NAME_BYTES}, the zip programs' ops and references against {@link
   * DeltaFormat#MAX_ZIP_OPS}.
   */
  static final class Budget {
    private long nameBytes;
    private long zipOps;

    void names(long bytes) {
      nameBytes += bytes;
      if (nameBytes > PayloadTree.MAX_NAME_BYTES) {
        throw ByteReader.malformed("its paths and link targets take more than " + PayloadTree.MAX_NAME_BYTES
            + " bytes");
      }
    }

    void zipOps(long n) {
      zipOps += n;
      if (zipOps > DeltaFormat.MAX_ZIP_OPS) {
        throw ByteReader.malformed("its zip programs have more than " + DeltaFormat.MAX_ZIP_OPS
            + " entries and references in all");
      }
    }
  }

  /** An old file index: +1-coded (0 for none) when {@code optional}. */
  private static int source(ByteReader in, List<TreeEntry> base, String path, boolean optional) {
    int source = optional ? in.varintInt(base.size(), "source") - 1 : in.varintInt(base.size() - 1, "source");
    if (source >= 0 && base.get(source).type() != TreeEntry.EntryType.FILE) {
      throw ByteReader.malformed("'" + path + "' is built from '" + base.get(source).path() + "', which is not a file");
    }
    return source;
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
