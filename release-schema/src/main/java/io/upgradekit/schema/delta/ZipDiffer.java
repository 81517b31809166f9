package io.upgradekit.schema.delta;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds a {@link ZipProgram}: pairs the new zip's entries with the old one's (by name, then by
 * raw bytes, then by version-less name), reuses unchanged entries' raw bytes, inflates changed
 * ones and finds the deflate level that reproduces them exactly, and recurses into nested
 * archives. The program is proven by rebuilding the zip from it before it is used; when anything
 * does not reproduce exactly there is no program and the caller patches the file as a whole.
 */
final class ZipDiffer {
  private static final String[] ARCHIVE_SUFFIXES = {".jar", ".war", ".ear", ".zip"};

  /**
   * Raw deflate streams already proven equal to JDK output (key: level, length, CRC-32 of the
   * content), so checking a program does not deflate every changed entry a second time. The final
   * check of the whole delta still deflates for real.
   */
  private final Map<String, byte[]> proven = new HashMap<>();

  private ZipDiffer() {}

  private static String key(int level, int length, long crc) {
    return level + ":" + length + ":" + crc;
  }

  private ByteBuffer deflateKnown(ByteBuffer content, int level, long cap) {
    byte[] raw = proven.get(key(level, content.remaining(), Deflation.crc32(content)));
    return raw != null && raw.length <= cap ? ByteBuffer.wrap(raw) : Deflation.deflate(content, level, cap,
        Scratch.memory());
  }

  /**
   * A proven program with its new streams and its references (all in depth-first order), which a
   * group's codec encodes.
   */
  record Built(ZipProgram program, byte[] meta, byte[] content, byte[] metaReference, byte[] contentReference) {}

  /** The program that turns {@code oldZip} into {@code newZip}, proven; null if there is none. */
  static Built diff(ByteBuffer oldZip, ByteBuffer newZip) {
    try {
      return new ZipDiffer().diff(oldZip, newZip, 0);
    } catch (RuntimeException e) {
      return null; // a zip we cannot take apart (or whose references exceed a cap): patch the file
    }
  }

  private Built diff(ByteBuffer oldZip, ByteBuffer newZip, int depth) {
    ZipLayout o = ZipLayout.parse(oldZip);
    ZipLayout n = ZipLayout.parse(newZip);
    if (o == null || n == null) {
      return null;
    }
    Map<String, Integer> byName = new HashMap<>();
    Map<String, Integer> byKey = new HashMap<>();
    Map<Long, List<Integer>> byCrc = new HashMap<>();
    for (int k = 0; k < o.entries.size(); k++) {
      ZipLayout.Entry e = o.entries.get(k);
      byName.putIfAbsent(e.name(), k);
      byCrc.computeIfAbsent(e.crc(), c -> new ArrayList<>(1)).add(k);
    }
    int count = n.entries.size();
    long dosTime = ZipMeta.commonDosTime(newZip, n);
    ZipMeta.Values values = ZipMeta.Values.of(count, dosTime);
    List<ZipProgram.Op> ops = new ArrayList<>(count);
    List<ZipProgram.Ref> refs = new ArrayList<>();
    List<Built> nested = new ArrayList<>();
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    int hint = 6;
    for (int j = 0; j < count; j++) {
      ZipLayout.Entry e = n.entries.get(j);
      ByteBuffer raw = newZip.slice(e.dataOffset(), e.dataLength());
      Integer same = byName.get(e.name());
      int reuse = -1;
      if (same != null && sameRaw(oldZip, o.entries.get(same), raw)) {
        reuse = same;
      } else {
        for (int k : byCrc.getOrDefault(e.crc(), List.of())) {
          if (sameRaw(oldZip, o.entries.get(k), raw)) {
            reuse = k;
            break;
          }
        }
      }
      if (reuse >= 0) {
        ZipLayout.Entry oe = o.entries.get(reuse);
        ops.add(new ZipProgram.OldOp(e.gapBefore(), e.descriptorLength(), reuse));
        values.set(j, oe.crc(), oe.compressedSize(), oe.size(), e.localOffset());
        continue;
      }
      if (same == null && byKey.isEmpty()) {
        // Version-less names only when some name is new: most zips never need them.
        for (int k = o.entries.size() - 1; k >= 0; k--) {
          byKey.put(NameKeys.key(o.entries.get(k).name()), k);
        }
      }
      Integer pair = same != null ? same : byKey.get(NameKeys.key(e.name()));
      if (pair != null && depth < DeltaFormat.MAX_ZIP_DEPTH && isArchiveName(e.name())) {
        ZipProgram.Op op = nested(oldZip, o.entries.get(pair), pair, e, raw, depth, nested, j, values);
        if (op != null) {
          ops.add(op);
          continue;
        }
      }
      byte[] bytes = null;
      ZipProgram.Op op = null;
      if (e.method() == ZipLayout.METHOD_DEFLATED) {
        bytes = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
        int level = bytes == null ? -1 : Deflation.detectLevel(bytes, raw, hint);
        if (level > 0) {
          hint = level;
          op = new ZipProgram.DeflatedOp(e.gapBefore(), e.descriptorLength(), level, bytes.length);
          long crc = Deflation.crc32(bytes, 0, bytes.length);
          values.set(j, crc, e.dataLength(), bytes.length, e.localOffset());
          byte[] rawBytes = new byte[e.dataLength()];
          raw.get(0, rawBytes);
          proven.put(key(level, bytes.length, crc), rawBytes);
        }
      }
      if (op == null) {
        bytes = new byte[e.dataLength()];
        raw.get(0, bytes);
        op = new ZipProgram.StoredOp(e.gapBefore(), e.descriptorLength(), bytes.length);
        values.set(j, Deflation.crc32(bytes, 0, bytes.length), bytes.length, bytes.length, e.localOffset());
      }
      ops.add(op);
      content.writeBytes(bytes);
      if (pair != null) {
        ZipLayout.Entry oe = o.entries.get(pair);
        refs.add(new ZipProgram.Ref(pair, oe.method() == ZipLayout.METHOD_DEFLATED));
      }
      if (content.size() > DeltaFormat.MAX_CONTENT) {
        return null;
      }
    }
    byte[] newMeta = ZipMeta.normalize(newZip, n, values);
    if (newMeta == null) {
      return null;
    }
    ByteArrayOutputStream allMeta = new ByteArrayOutputStream();
    allMeta.writeBytes(newMeta);
    int ownContent = content.size();
    for (Built b : nested) {
      allMeta.writeBytes(b.meta());
      content.writeBytes(b.content());
    }
    if (allMeta.size() > DeltaFormat.MAX_META || content.size() > DeltaFormat.MAX_CONTENT) {
      return null;
    }
    ZipProgram program = new ZipProgram(o.entries.size(), n.centralGap, dosTime, newMeta.length, refs, ownContent, ops);
    BoundedOutput metaRef = BoundedOutput.inMemory(DeltaFormat.MAX_META);
    BoundedOutput contentRef = BoundedOutput.inMemory(DeltaFormat.MAX_CONTENT);
    ZipReferences.collect(program, oldZip, metaRef, contentRef, Scratch.memory());
    Built built = new Built(program, allMeta.toByteArray(), content.toByteArray(), metaRef.toByteArray(),
        contentRef.toByteArray());
    return reproduces(built, oldZip, newZip) ? built : null;
  }

  /** A nested archive rebuilt by its own program; null when that does not work out. */
  private ZipProgram.Op nested(ByteBuffer oldZip, ZipLayout.Entry oe, int pair, ZipLayout.Entry e,
      ByteBuffer raw, int depth, List<Built> nested, int j, ZipMeta.Values values) {
    byte[] newInner;
    int level = 0;
    if (e.method() == ZipLayout.METHOD_STORED) {
      newInner = new byte[e.dataLength()];
      raw.get(0, newInner);
    } else if (e.method() == ZipLayout.METHOD_DEFLATED) {
      newInner = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
      level = newInner == null ? -1 : Deflation.detectLevel(newInner, raw, 6);
      if (level < 0) {
        return null;
      }
    } else {
      return null;
    }
    ByteBuffer oldInner;
    boolean inflateOld = oe.method() == ZipLayout.METHOD_DEFLATED;
    ByteBuffer oldRaw = oldZip.slice(oe.dataOffset(), oe.dataLength());
    if (inflateOld) {
      byte[] inflated = Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_CONTENT);
      if (inflated == null) {
        return null;
      }
      oldInner = ByteBuffer.wrap(inflated);
    } else if (oe.method() == ZipLayout.METHOD_STORED) {
      oldInner = oldRaw;
    } else {
      return null;
    }
    Built sub = diff(oldInner, ByteBuffer.wrap(newInner), depth + 1);
    if (sub == null) {
      return null;
    }
    nested.add(sub);
    long crc = Deflation.crc32(newInner, 0, newInner.length);
    values.set(j, crc, e.dataLength(), newInner.length, e.localOffset());
    if (level > 0) {
      byte[] rawBytes = new byte[e.dataLength()];
      raw.get(0, rawBytes);
      proven.put(key(level, newInner.length, crc), rawBytes);
    }
    return new ZipProgram.NestedOp(e.gapBefore(), e.descriptorLength(), level, pair, inflateOld, sub.program());
  }

  /** Rebuilds the zip from the program and its streams (serialized and read back) and compares. */
  private boolean reproduces(Built built, ByteBuffer oldZip, ByteBuffer newZip) {
    try {
      ByteWriter index = new ByteWriter();
      built.program().write(index);
      ZipProgram parsed = ZipProgram.read(new ByteReader(index.toByteArray()), newZip.remaining(), 0);
      BoundedOutput out = BoundedOutput.inMemory(newZip.remaining());
      ZipPatcher.apply(parsed, oldZip, StreamCursor.of(built.meta()), StreamCursor.of(built.content()), out,
          this::deflateKnown, Scratch.memory());
      return out.position() == newZip.remaining() && ByteBuffer.wrap(out.toByteArray()).equals(newZip.duplicate());
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean sameRaw(ByteBuffer oldZip, ZipLayout.Entry oe, ByteBuffer raw) {
    return oe.dataLength() == raw.remaining()
        && oldZip.slice(oe.dataOffset(), oe.dataLength()).mismatch(raw) == -1;
  }

  static boolean isArchiveName(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (String suffix : ARCHIVE_SUFFIXES) {
      if (lower.endsWith(suffix)) {
        return true;
      }
    }
    return false;
  }
}
