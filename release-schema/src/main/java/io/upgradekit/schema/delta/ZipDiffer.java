package io.upgradekit.schema.delta;

import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Builds a {@link ZipProgram}: pairs the new zip's entries with the old one's, reuses unchanged
 * entries' raw bytes, inflates changed ones and finds the deflate level that reproduces them
 * exactly, and recurses into nested archives. The program is proven by rebuilding the zip from it
 * before it is used; when the zip as a whole does not reproduce there is no program and the caller
 * patches the file as a whole.
 *
 * <p>Pairing: same name; same raw bytes (moved); a name equal once versions are blanked
 * ({@link NameKeys#versionKey}); then, for names renamed by a content hash, the candidate under the
 * loose key (path, then file name) whose content is most similar ({@link Sketch}), and only if it
 * is similar enough: a blanked hash alone never pairs two files.
 *
 * <p>Memory follows the largest entry, not the zip: the zips are read in place (memory-mapped by
 * the caller), changed entries join the group's content stream while it has room and otherwise get
 * a codec unit of their own ({@link ZipProgram.OwnOp}), and the proof compares the rebuilt bytes
 * with the new zip as they come out. An entry that no JDK deflate level reproduces, that is not
 * stored or deflated, or that is larger than {@link DeltaFormat#MAX_DIFFED_ENTRY}, ships its
 * compressed bytes as they are; only that entry, noted with the reason.
 */
final class ZipDiffer {
  private static final String[] ARCHIVE_SUFFIXES = {".jar", ".war", ".ear", ".zip"};

  /** Why an entry ships its compressed bytes instead of being diffed (counted in the summary). */
  static final String NO_LEVEL = "no JDK deflate level reproduces it";
  static final String NOT_INFLATABLE = "does not inflate to its declared size";
  static final String OTHER_METHOD = "neither stored nor deflated";
  static final String TOO_LARGE = "larger than " + (DeltaFormat.MAX_DIFFED_ENTRY >> 20) + " MiB uncompressed";

  private final Set<PatchMethod> methods;
  private final boolean explain;
  /**
   * Raw deflate streams already proven equal to JDK output (key: level, length, CRC-32 of the
   * content), read in place from the new zip, so checking a program does not deflate every changed
   * entry a second time. The final check of the whole delta still deflates for real.
   */
  private final Map<String, ByteBuffer> proven = new HashMap<>();
  private final List<Note> notes = new ArrayList<>();
  /** Content stream and content reference bytes taken so far by this zip and its nested zips. */
  private long streamBytes;
  private long referenceBytes;

  private ZipDiffer(Set<PatchMethod> methods, boolean explain) {
    this.methods = methods;
    this.explain = explain;
  }

  private static String key(int level, int length, long crc) {
    return level + ":" + length + ":" + crc;
  }

  private ByteBuffer deflateKnown(ByteBuffer content, int level, long cap) {
    ByteBuffer raw = proven.get(key(level, content.remaining(), Deflation.crc32(content)));
    return raw != null && raw.remaining() <= cap ? raw.duplicate()
        : Deflation.deflate(content, level, cap, Scratch.memory());
  }

  /**
   * What happened to one changed entry (entries kept as they were have none).
   *
   * @param name the entry's name, prefixed by its nested zips' names ({@code lib/a.jar!/x.class})
   * @param encoding {@code stream} (diffed in the group), {@code own} (a unit of its own),
   *     {@code nested} (a zip rebuilt by its own program) or {@code compressed} (its compressed
   *     bytes, as they are)
   * @param size uncompressed size
   * @param oldName the old entry it was diffed against, or null (shipped as new)
   * @param pairedBy how it was paired: {@code name}, {@code version}, {@code hash}, {@code moved}, or null
   * @param fallback why it ships its compressed bytes, or null
   * @param patchBytes an own entry's unit bytes; for a stream entry (whose cost its group shares)
   *     an estimate when explaining ({@link Estimate}), else -1
   */
  record Note(String name, String encoding, long size, String oldName, String pairedBy, String fallback,
      long patchBytes) {}

  /**
   * A proven program with its new streams and its references (all in depth-first order), which a
   * group's codec encodes, the bytes of its own units, and what happened to each changed entry.
   */
  record Built(ZipProgram program, byte[] meta, byte[] content, byte[] metaReference, byte[] contentReference,
      byte[] ownPatches, List<Note> notes) {}

  /** A program, or why there is none (the file is then patched as a whole). */
  record Result(Built built, String failure) {}

  /** The program that turns {@code oldZip} into {@code newZip}, proven, or why there is none. */
  static Result diff(ByteBuffer oldZip, ByteBuffer newZip, Set<PatchMethod> methods, boolean explain) {
    ZipDiffer differ = new ZipDiffer(methods, explain);
    try {
      Object built = differ.diff(oldZip, newZip, 0, "");
      if (built instanceof String failure) {
        return new Result(null, failure);
      }
      Built b = (Built) built;
      return differ.reproduces(b, oldZip, newZip) ? new Result(b, null)
          : new Result(null, "the rebuilt zip does not match it byte for byte");
    } catch (RuntimeException e) {
      // A zip we cannot take apart, or whose references exceed a cap: patch the file.
      return new Result(null, "it cannot be taken apart: " + e.getMessage());
    }
  }

  /** A {@link Built} (not yet proven), or a String saying why there is none. */
  private Object diff(ByteBuffer oldZip, ByteBuffer newZip, int depth, String prefix) {
    ZipLayout o = ZipLayout.parse(oldZip);
    ZipLayout n = ZipLayout.parse(newZip);
    if (o == null || n == null) {
      return "it is not a zip this engine takes apart exactly";
    }
    Candidates candidates = new Candidates(oldZip, o, n);
    Map<String, Integer> byName = new HashMap<>();
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
    Set<Long> referenced = new HashSet<>();
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
      String name = prefix + e.name();
      if (depth < DeltaFormat.MAX_ZIP_DEPTH && isArchiveName(e.name())) {
        Integer pair = same != null ? same : candidates.archive(e);
        if (pair != null) {
          ZipProgram.Op op = nested(oldZip, o.entries.get(pair), pair, e, raw, depth, nested, j, values, name);
          if (op != null) {
            ops.add(op);
            continue;
          }
        }
      }
      // The entry's uncompressed bytes and the level that re-deflates them (0: stored), or why not.
      byte[] bytes = null;
      int level = -1;
      String fallback = null;
      if (e.method() == ZipLayout.METHOD_DEFLATED) {
        bytes = e.size() > DeltaFormat.MAX_DIFFED_ENTRY ? null
            : Deflation.inflate(raw, e.size(), DeltaFormat.MAX_DIFFED_ENTRY);
        level = bytes == null ? -1 : Deflation.detectLevel(bytes, raw, hint);
        fallback = e.size() > DeltaFormat.MAX_DIFFED_ENTRY ? TOO_LARGE : bytes == null ? NOT_INFLATABLE
            : level < 0 ? NO_LEVEL : null;
      } else if (e.method() == ZipLayout.METHOD_STORED) {
        level = 0;
        fallback = e.dataLength() > DeltaFormat.MAX_DIFFED_ENTRY ? TOO_LARGE : null;
        if (fallback == null) {
          bytes = new byte[e.dataLength()];
          raw.get(0, bytes);
        }
      } else {
        fallback = OTHER_METHOD;
      }
      if (fallback != null) {
        level = 0;
        bytes = e.dataLength() > DeltaFormat.MAX_DIFFED_ENTRY ? null : copy(raw);
      } else if (level > 0) {
        hint = level;
        proven.put(key(level, bytes.length, Deflation.crc32(bytes, 0, bytes.length)), raw);
      }
      // Its predecessor: an old entry diffed as it is stored (raw) when this entry ships raw bytes.
      Pair pair = same != null ? new Pair(same, "name")
          : bytes == null ? null : candidates.predecessor(e, bytes);
      int source = pair == null ? -1 : pair.entry();
      ZipLayout.Entry oe = source < 0 ? null : o.entries.get(source);
      boolean inflateSource = oe != null && fallback == null && oe.method() == ZipLayout.METHOD_DEFLATED;
      long referenceLength = oe == null || referenced.contains(refKey(source, inflateSource)) ? 0
          : inflateSource ? oe.size() : oe.dataLength();
      long length = bytes == null ? e.dataLength() : bytes.length;
      boolean stream = bytes != null && streamBytes + length <= DeltaFormat.MAX_CONTENT
          && referenceBytes + referenceLength <= DeltaFormat.MAX_CONTENT
          && (!inflateSource || oe.size() <= DeltaFormat.MAX_DIFFED_ENTRY);
      long crc;
      long patchBytes = -1;
      if (stream) {
        content.writeBytes(bytes);
        streamBytes += length;
        referenceBytes += referenceLength;
        if (oe != null && referenced.add(refKey(source, inflateSource))) {
          refs.add(new ZipProgram.Ref(source, inflateSource));
        }
        ops.add(level > 0 ? new ZipProgram.DeflatedOp(e.gapBefore(), e.descriptorLength(), level, bytes.length)
            : new ZipProgram.StoredOp(e.gapBefore(), e.descriptorLength(), bytes.length));
        crc = Deflation.crc32(bytes, 0, bytes.length);
        if (explain) {
          ByteBuffer oldRaw = oe == null ? null : oldZip.slice(oe.dataOffset(), oe.dataLength());
          byte[] reference = oe == null ? new byte[0] : inflateSource
              ? Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_DIFFED_ENTRY) : copy(oldRaw);
          patchBytes = Estimate.of(reference, bytes);
        }
      } else {
        ZipProgram.OwnOp own = own(e, raw, bytes, level, oldZip, oe, source, inflateSource);
        ops.add(own);
        patchBytes = own.patch().length;
        crc = bytes == null ? Deflation.crc32(raw) : Deflation.crc32(bytes, 0, bytes.length);
        if (own.source() < 0) {
          pair = null;
        }
      }
      values.set(j, crc, level > 0 ? e.dataLength() : length, length, e.localOffset());
      notes.add(new Note(name, fallback != null ? "compressed" : stream ? "stream" : "own",
          fallback != null ? e.dataLength() : length, pair == null ? null : prefix + o.entries.get(pair.entry()).name(),
          pair == null ? null : pair.how(), fallback, patchBytes));
    }
    byte[] newMeta = ZipMeta.normalize(newZip, n, values);
    if (newMeta == null) {
      return "its metadata cannot be normalized";
    }
    ByteArrayOutputStream allMeta = new ByteArrayOutputStream();
    allMeta.writeBytes(newMeta);
    int ownContent = content.size();
    for (Built b : nested) {
      allMeta.writeBytes(b.meta());
      content.writeBytes(b.content());
    }
    if (allMeta.size() > DeltaFormat.MAX_META) {
      return "its metadata (" + allMeta.size() + " bytes) exceeds " + (DeltaFormat.MAX_META >> 20) + " MiB";
    }
    ZipProgram program = new ZipProgram(o.entries.size(), n.centralGap, dosTime, newMeta.length, refs, ownContent, ops);
    BoundedOutput metaRef = BoundedOutput.inMemory(DeltaFormat.MAX_META);
    BoundedOutput contentRef = BoundedOutput.inMemory(DeltaFormat.MAX_CONTENT);
    ZipReferences.collect(program, oldZip, metaRef, contentRef, Scratch.memory());
    ByteArrayOutputStream patches = new ByteArrayOutputStream();
    program.ownPatches(patches);
    return new Built(program, allMeta.toByteArray(), content.toByteArray(), metaRef.toByteArray(),
        contentRef.toByteArray(), patches.toByteArray(), List.copyOf(notes));
  }

  /** An entry with a unit of its own, encoded against its predecessor (or alone). */
  private ZipProgram.OwnOp own(ZipLayout.Entry e, ByteBuffer raw, byte[] bytes, int level, ByteBuffer oldZip,
      ZipLayout.Entry oe, int source, boolean inflateSource) {
    byte[] target = bytes != null ? bytes : copy(raw);
    byte[] reference = new byte[0];
    if (bytes != null && oe != null) {
      ByteBuffer oldRaw = oldZip.slice(oe.dataOffset(), oe.dataLength());
      reference = inflateSource ? Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_DIFFED_ENTRY) : copy(oldRaw);
    }
    if (reference == null || reference.length == 0) {
      source = -1;
      inflateSource = false;
      reference = new byte[0];
    }
    EncodedPatch patch = reference.length == 0 || bytes == null
        ? FileCodec.encode(new byte[0], target, EnumSet.of(PatchMethod.ZSTD))
        : FileCodec.encode(reference, target, methods);
    Unit unit = new Unit(patch.method(), target.length, 0, patch.bytes().length);
    return new ZipProgram.OwnOp(e.gapBefore(), e.descriptorLength(), bytes == null ? 0 : level, source,
        inflateSource, unit, patch.bytes());
  }

  /** A nested archive rebuilt by its own program; null when that does not work out. */
  private ZipProgram.Op nested(ByteBuffer oldZip, ZipLayout.Entry oe, int pair, ZipLayout.Entry e,
      ByteBuffer raw, int depth, List<Built> nested, int j, ZipMeta.Values values, String name) {
    ByteBuffer newInner;
    int level = 0;
    if (e.method() == ZipLayout.METHOD_STORED) {
      if (e.dataLength() > DeltaFormat.MAX_CONTENT) {
        return null;
      }
      newInner = raw;
    } else if (e.method() == ZipLayout.METHOD_DEFLATED) {
      byte[] inflated = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
      level = inflated == null ? -1 : Deflation.detectLevel(inflated, raw, 6);
      if (level < 0) {
        return null;
      }
      newInner = ByteBuffer.wrap(inflated);
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
    long streamBefore = streamBytes;
    long referenceBefore = referenceBytes;
    int notesBefore = notes.size();
    Object sub = diff(oldInner, newInner, depth + 1, name + "!/");
    if (!(sub instanceof Built built)) {
      streamBytes = streamBefore;
      referenceBytes = referenceBefore;
      notes.subList(notesBefore, notes.size()).clear();
      return null;
    }
    nested.add(built);
    long crc = Deflation.crc32(newInner);
    values.set(j, crc, e.dataLength(), newInner.remaining(), e.localOffset());
    if (level > 0) {
      proven.put(key(level, newInner.remaining(), crc), raw);
    }
    return new ZipProgram.NestedOp(e.gapBefore(), e.descriptorLength(), level, pair, inflateOld, built.program());
  }

  /**
   * Rebuilds the zip from the program and its streams (serialized and read back, own units decoded)
   * and compares each byte with the new zip as it comes out.
   */
  private boolean reproduces(Built built, ByteBuffer oldZip, ByteBuffer newZip) {
    try {
      ByteWriter index = new ByteWriter();
      built.program().write(index);
      ZipProgram parsed = ZipProgram.read(new ByteReader(index.toByteArray()), newZip.remaining(), 0,
          new DeltaIndex.Budget(), new DataCursor(0, built.ownPatches().length), DeltaFormat.MAX_VERSION);
      ByteBuffer data = ByteBuffer.wrap(built.ownPatches());
      BoundedOutput out = new BoundedOutput(new Comparing(newZip), newZip.remaining());
      ZipPatcher.apply(parsed, oldZip, StreamCursor.of(built.meta()), StreamCursor.of(built.content()), out,
          this::deflateKnown,
          (unit, reference) -> Units.decode(unit, reference, data, Scratch.memory(), DeltaFormat.MAX_OWN_ENTRY),
          Scratch.memory());
      return out.position() == newZip.remaining();
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Compares what is written with the expected bytes; a difference ends the proof. */
  private static final class Comparing extends OutputStream {
    private final ByteBuffer expected;
    private int at;

    Comparing(ByteBuffer expected) {
      this.expected = expected.duplicate();
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int offset, int length) {
      if (length > expected.remaining() - at
          || expected.slice(expected.position() + at, length).mismatch(ByteBuffer.wrap(b, offset, length)) != -1) {
        throw new IllegalStateException("the rebuilt zip differs at byte " + at);
      }
      at += length;
    }
  }

  /** An old entry chosen as a predecessor, and how. */
  private record Pair(int entry, String how) {}

  /**
   * The old entries a new name may come from, by key; built on first use (most zips keep their
   * names), with content sketches of old entries computed once, when first compared.
   */
  private static final class Candidates {
    private final ByteBuffer oldZip;
    private final ZipLayout old;
    private final Set<String> newNames = new HashSet<>();
    private Map<String, List<Integer>> byVersion;
    private Map<String, List<Integer>> byKey;
    private Map<String, List<Integer>> byLooseKey;
    private Map<String, List<Integer>> byLooseFile;
    private final Map<Integer, Sketch> sketches = new HashMap<>();

    Candidates(ByteBuffer oldZip, ZipLayout old, ZipLayout neu) {
      this.oldZip = oldZip;
      this.old = old;
      for (ZipLayout.Entry e : neu.entries) {
        newNames.add(e.name());
      }
    }

    private void index() {
      if (byVersion != null) {
        return;
      }
      byVersion = new HashMap<>();
      byKey = new HashMap<>();
      byLooseKey = new HashMap<>();
      byLooseFile = new HashMap<>();
      for (int k = 0; k < old.entries.size(); k++) {
        String name = old.entries.get(k).name();
        if (name.endsWith("/")) {
          continue;
        }
        add(byVersion, NameKeys.versionKey(name), k);
        add(byKey, NameKeys.key(name), k);
        add(byLooseKey, NameKeys.looseKey(name), k);
        add(byLooseFile, NameKeys.looseFileKey(name), k);
      }
    }

    private static void add(Map<String, List<Integer>> map, String key, int k) {
      map.computeIfAbsent(key, x -> new ArrayList<>(1)).add(k);
    }

    /** A nested archive's predecessor: renamed with the version; of several, one gone from the new zip, closest in size. */
    Integer archive(ZipLayout.Entry e) {
      index();
      int best = closest(byVersion.get(NameKeys.versionKey(e.name())), e);
      if (best < 0) {
        best = closest(byKey.get(NameKeys.key(e.name())), e);
      }
      return best < 0 ? null : best;
    }

    private int closest(List<Integer> list, ZipLayout.Entry e) {
      int best = -1;
      for (int k : list == null ? List.<Integer>of() : list) {
        if (best < 0 || better(k, best, e)) {
          best = k;
        }
      }
      return best;
    }

    private boolean better(int a, int b, ZipLayout.Entry e) {
      boolean aGone = !newNames.contains(old.entries.get(a).name());
      if (aGone != !newNames.contains(old.entries.get(b).name())) {
        return aGone;
      }
      return Math.abs(old.entries.get(a).size() - e.size()) < Math.abs(old.entries.get(b).size() - e.size());
    }

    /**
     * A changed file's predecessor: renamed with the version (of several, the most similar), else
     * renamed by a hash or moved: the most similar candidate, if similar enough.
     */
    Pair predecessor(ZipLayout.Entry e, byte[] bytes) {
      index();
      Sketch sketch = null;
      List<Integer> versioned = byVersion.get(NameKeys.versionKey(e.name()));
      if (versioned != null && versioned.size() == 1) {
        return new Pair(versioned.get(0), "version");
      }
      List<Function<String, String>> keys = List.of(NameKeys::looseKey, NameKeys::looseFileKey);
      List<Map<String, List<Integer>>> maps = List.of(byLooseKey, byLooseFile);
      for (int i = -1; i < keys.size(); i++) {
        List<Integer> list = i < 0 ? versioned : maps.get(i).get(keys.get(i).apply(e.name()));
        if (list == null) {
          continue;
        }
        if (sketch == null) {
          sketch = Sketch.of(bytes);
        }
        int best = -1;
        double bestScore = i < 0 ? -1 : Sketch.PAIRING_THRESHOLD;
        for (int k : list) {
          Sketch s = sketch(k);
          double score = s == null ? -1 : s.similarity(sketch);
          if (score > bestScore || score == bestScore && best >= 0 && better(k, best, e)) {
            best = k;
            bestScore = score;
          }
        }
        if (best >= 0) {
          return new Pair(best, i < 0 ? "version" : i == 0 ? "hash" : "moved");
        }
      }
      return null;
    }

    /** The old entry's sketch; null when it cannot be read within the caps. */
    private Sketch sketch(int k) {
      return sketches.computeIfAbsent(k, x -> {
        ZipLayout.Entry e = old.entries.get(k);
        ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
        if (e.method() == ZipLayout.METHOD_STORED) {
          return Sketch.of(raw);
        }
        byte[] inflated = e.method() == ZipLayout.METHOD_DEFLATED
            ? Deflation.inflate(raw, e.size(), DeltaFormat.MAX_DIFFED_ENTRY) : null;
        return inflated == null ? null : Sketch.of(inflated);
      });
    }
  }

  private static long refKey(int entry, boolean inflate) {
    return entry * 2L + (inflate ? 1 : 0);
  }

  private static byte[] copy(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(b.position(), out);
    return out;
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
