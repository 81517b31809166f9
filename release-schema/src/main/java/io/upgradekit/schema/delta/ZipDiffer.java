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
import java.util.TreeMap;
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
 * is similar enough: a blanked hash alone never pairs two files. An entry of a nested zip that finds
 * no predecessor in the nested zip it is rebuilt from looks, by the same rules, in the old nested
 * zips that no new one is paired with (a dependency merged into another jar of a fat jar); such a
 * predecessor joins the content reference through a reference into that old nested zip
 * ({@link ZipProgram.Inner}, format version 3).
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
      Object built = differ.diff(oldZip, newZip, 0, "", "", null);
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

  /**
   * A {@link Built} (not yet proven), or a String saying why there is none. {@code prefix} and
   * {@code oldPrefix} name the new and old zip inside the top-level one ({@code lib/a.jar!/});
   * {@code foreign} holds the enclosing zip's unpaired old nested zips (null at the top).
   */
  private Object diff(ByteBuffer oldZip, ByteBuffer newZip, int depth, String prefix, String oldPrefix,
      Foreign foreign) {
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
    Foreign orphans = depth < DeltaFormat.MAX_ZIP_DEPTH
        ? new Foreign(oldZip, o, n, newZip, byName, byCrc, candidates, oldPrefix) : null;
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
      int reuse = reuse(oldZip, o, byName, byCrc, e, raw);
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
          ZipProgram.Op op = nested(oldZip, o.entries.get(pair), pair, e, raw, depth, nested, j, values, name,
              oldPrefix + o.entries.get(pair).name() + "!/", orphans);
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
      // Its predecessor: an old entry diffed as it is stored (raw) when this entry ships raw bytes;
      // else, for a diffed entry of a nested zip, one in an unpaired old nested zip beside it.
      Pair pair = same != null ? new Pair(same, "name")
          : bytes == null ? null : candidates.predecessor(e, bytes);
      Pair moved = pair == null && fallback == null && bytes != null && foreign != null
          ? foreign.predecessor(e, bytes) : null;
      int source = pair == null ? -1 : pair.entry();
      ZipLayout.Entry oe = source < 0 ? null : o.entries.get(source);
      ZipLayout.Entry me = moved == null ? null : foreign.entry(moved.id());
      boolean inflateSource = oe != null && fallback == null && oe.method() == ZipLayout.METHOD_DEFLATED;
      long referenceLength = oe != null ? (referenced.contains(refKey(source, inflateSource)) ? 0
          : inflateSource ? oe.size() : oe.dataLength())
          : moved != null ? foreign.referenceLength(moved.id()) : 0;
      long length = bytes == null ? e.dataLength() : bytes.length;
      boolean stream = bytes != null && streamBytes + length <= DeltaFormat.MAX_CONTENT
          && referenceBytes + referenceLength <= DeltaFormat.MAX_CONTENT
          && (!inflateSource || oe.size() <= DeltaFormat.MAX_DIFFED_ENTRY)
          && (me == null || referenceLength <= DeltaFormat.MAX_DIFFED_ENTRY);
      long crc;
      long patchBytes = -1;
      String oldName = pair == null ? null : oldPrefix + o.entries.get(pair.entry()).name();
      if (stream) {
        content.writeBytes(bytes);
        streamBytes += length;
        referenceBytes += referenceLength;
        if (oe != null && referenced.add(refKey(source, inflateSource))) {
          refs.add(new ZipProgram.Ref(source, inflateSource));
        }
        if (moved != null) {
          foreign.take(moved.id());
          pair = moved;
          oldName = foreign.name(moved.id());
        }
        ops.add(level > 0 ? new ZipProgram.DeflatedOp(e.gapBefore(), e.descriptorLength(), level, bytes.length)
            : new ZipProgram.StoredOp(e.gapBefore(), e.descriptorLength(), bytes.length));
        crc = Deflation.crc32(bytes, 0, bytes.length);
        if (explain) {
          byte[] reference = oe != null ? referenceBytes(oldZip, oe, inflateSource)
              : me != null ? foreign.bytes(moved.id()) : new byte[0];
          patchBytes = Estimate.of(reference, bytes);
        }
      } else {
        ZipProgram.OwnOp own = own(e, raw, bytes, level, oldZip, oe, source, inflateSource);
        ops.add(own);
        patchBytes = own.patch().length;
        crc = bytes == null ? Deflation.crc32(raw) : Deflation.crc32(bytes, 0, bytes.length);
        if (own.source() < 0) {
          pair = null;
          oldName = null;
        }
      }
      values.set(j, crc, level > 0 ? e.dataLength() : length, length, e.localOffset());
      notes.add(new Note(name, fallback != null ? "compressed" : stream ? "stream" : "own",
          fallback != null ? e.dataLength() : length, oldName, pair == null ? null : pair.how(), fallback, patchBytes));
    }
    if (orphans != null) {
      refs.addAll(orphans.refs());
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
      reference = referenceBytes(oldZip, oe, inflateSource);
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
      ByteBuffer raw, int depth, List<Built> nested, int j, ZipMeta.Values values, String name, String oldName,
      Foreign orphans) {
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
    int takenBefore = orphans == null ? 0 : orphans.taken();
    Object sub = diff(oldInner, newInner, depth + 1, name + "!/", oldName, orphans);
    if (!(sub instanceof Built built)) {
      streamBytes = streamBefore;
      referenceBytes = referenceBefore;
      notes.subList(notesBefore, notes.size()).clear();
      if (orphans != null) {
        orphans.untake(takenBefore);
      }
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

  /** An old entry chosen as a predecessor ({@link Candidates#id}), and how. */
  private record Pair(long id, String how) {
    Pair(int entry, String how) {
      this((long) entry, how);
    }

    /** The entry's index in its old zip. */
    int entry() {
      return (int) id;
    }
  }

  /**
   * The old entries a new name may come from, by key, in one old zip or several (the unpaired
   * old nested zips beside a nested zip); built on first use (most zips keep their names), with
   * content sketches of old entries computed once, when first compared. An entry is known by
   * {@link #id}: its zip's place in the list and its index in that zip.
   */
  private static final class Candidates {
    private final List<ByteBuffer> zips;
    private final List<ZipLayout> layouts;
    private final Set<String> newNames;
    private Map<String, List<Long>> byVersion;
    private Map<String, List<Long>> byKey;
    private Map<String, List<Long>> byLooseKey;
    private Map<String, List<Long>> byLooseFile;
    private final Map<Long, Sketch> sketches = new HashMap<>();

    Candidates(ByteBuffer oldZip, ZipLayout old, ZipLayout neu) {
      this(List.of(oldZip), List.of(old), names(neu));
    }

    Candidates(List<ByteBuffer> zips, List<ZipLayout> layouts, Set<String> newNames) {
      this.zips = zips;
      this.layouts = layouts;
      this.newNames = newNames;
    }

    private static Set<String> names(ZipLayout zip) {
      Set<String> names = new HashSet<>();
      for (ZipLayout.Entry e : zip.entries) {
        names.add(e.name());
      }
      return names;
    }

    static long id(int zip, int entry) {
      return (long) zip << 32 | entry;
    }

    static int zipOf(long id) {
      return (int) (id >>> 32);
    }

    ZipLayout.Entry entry(long id) {
      return layouts.get(zipOf(id)).entries.get((int) id);
    }

    private void index() {
      if (byVersion != null) {
        return;
      }
      byVersion = new HashMap<>();
      byKey = new HashMap<>();
      byLooseKey = new HashMap<>();
      byLooseFile = new HashMap<>();
      for (int z = 0; z < layouts.size(); z++) {
        List<ZipLayout.Entry> entries = layouts.get(z).entries;
        for (int k = 0; k < entries.size(); k++) {
          String name = entries.get(k).name();
          if (name.endsWith("/")) {
            continue;
          }
          long id = id(z, k);
          add(byVersion, NameKeys.versionKey(name), id);
          add(byKey, NameKeys.key(name), id);
          add(byLooseKey, NameKeys.looseKey(name), id);
          add(byLooseFile, NameKeys.looseFileKey(name), id);
        }
      }
    }

    private static void add(Map<String, List<Long>> map, String key, long id) {
      map.computeIfAbsent(key, x -> new ArrayList<>(1)).add(id);
    }

    /**
     * A nested archive's predecessor in the first old zip: renamed with the version; of several,
     * one gone from the new zip, closest in size.
     */
    Integer archive(ZipLayout.Entry e) {
      index();
      long best = closest(byVersion.get(NameKeys.versionKey(e.name())), e);
      if (best < 0) {
        best = closest(byKey.get(NameKeys.key(e.name())), e);
      }
      return best < 0 ? null : (int) best;
    }

    private long closest(List<Long> list, ZipLayout.Entry e) {
      long best = -1;
      for (long k : list == null ? List.<Long>of() : list) {
        if (best < 0 || better(k, best, e)) {
          best = k;
        }
      }
      return best;
    }

    private boolean better(long a, long b, ZipLayout.Entry e) {
      boolean aGone = !newNames.contains(entry(a).name());
      if (aGone != !newNames.contains(entry(b).name())) {
        return aGone;
      }
      return Math.abs(entry(a).size() - e.size()) < Math.abs(entry(b).size() - e.size());
    }

    /**
     * A changed file's predecessor: renamed with the version (of several, the most similar), else
     * renamed by a hash or moved: the most similar candidate, if similar enough.
     */
    Pair predecessor(ZipLayout.Entry e, byte[] bytes) {
      index();
      Sketch sketch = null;
      List<Long> versioned = byVersion.get(NameKeys.versionKey(e.name()));
      if (versioned != null && versioned.size() == 1) {
        return new Pair(versioned.get(0), "version");
      }
      List<Function<String, String>> keys = List.of(NameKeys::looseKey, NameKeys::looseFileKey);
      List<Map<String, List<Long>>> maps = List.of(byLooseKey, byLooseFile);
      for (int i = -1; i < keys.size(); i++) {
        List<Long> list = i < 0 ? versioned : maps.get(i).get(keys.get(i).apply(e.name()));
        if (list == null) {
          continue;
        }
        if (sketch == null) {
          sketch = Sketch.of(bytes);
        }
        long best = -1;
        double bestScore = i < 0 ? -1 : Sketch.PAIRING_THRESHOLD;
        for (long k : list) {
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

    /** The old entry's uncompressed bytes; null when it is neither stored nor deflated, or past the caps. */
    byte[] inflated(long id) {
      ZipLayout.Entry e = entry(id);
      ByteBuffer raw = zips.get(zipOf(id)).slice(e.dataOffset(), e.dataLength());
      return e.method() == ZipLayout.METHOD_STORED ? copy(raw)
          : e.method() == ZipLayout.METHOD_DEFLATED ? Deflation.inflate(raw, e.size(), DeltaFormat.MAX_DIFFED_ENTRY)
          : null;
    }

    /** The old entry's sketch; null when it cannot be read within the caps. */
    private Sketch sketch(long k) {
      return sketches.computeIfAbsent(k, x -> {
        ZipLayout.Entry e = entry(k);
        if (e.method() == ZipLayout.METHOD_STORED) {
          return Sketch.of(zips.get(zipOf(k)).slice(e.dataOffset(), e.dataLength()));
        }
        byte[] inflated = inflated(k);
        return inflated == null ? null : Sketch.of(inflated);
      });
    }
  }

  /**
   * The old nested zips of one zip that no new nested zip is paired with (nor reuses): a
   * dependency dropped, or merged into another jar. Entries of the new nested zips that find no
   * predecessor in the old nested zip they are rebuilt from may be diffed against theirs; those
   * taken become references into these old nested zips on the enclosing zip's program.
   */
  private static final class Foreign {
    private final ByteBuffer oldZip;
    private final ZipLayout old;
    private final ZipLayout neu;
    private final ByteBuffer newZip;
    private final Map<String, Integer> byName;
    private final Map<Long, List<Integer>> byCrc;
    private final Candidates pairing;
    private final String oldPrefix;
    private final List<Integer> outer = new ArrayList<>();
    private final List<Boolean> inflate = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    /** Null until first asked for; then null again if there are no unpaired old nested zips. */
    private Candidates candidates;
    private boolean opened;
    /** Taken entries in the order taken (undone when a nested zip's program fails), and as a set. */
    private final List<Long> taken = new ArrayList<>();
    private final Set<Long> takenSet = new HashSet<>();

    /** Nothing is read until a nested zip asks ({@link #predecessor}). */
    Foreign(ByteBuffer oldZip, ZipLayout old, ZipLayout neu, ByteBuffer newZip, Map<String, Integer> byName,
        Map<Long, List<Integer>> byCrc, Candidates pairing, String oldPrefix) {
      this.oldZip = oldZip;
      this.old = old;
      this.neu = neu;
      this.newZip = newZip;
      this.byName = byName;
      this.byCrc = byCrc;
      this.pairing = pairing;
      this.oldPrefix = oldPrefix;
    }

    /**
     * Finds the old nested zips that no new nested zip reuses or is paired with (by the same
     * rules as the main loop), at most {@link DeltaFormat#MAX_CONTENT} bytes of them inflated.
     */
    private void open() {
      opened = true;
      Set<Integer> used = new HashSet<>();
      for (ZipLayout.Entry e : neu.entries) {
        if (isArchiveName(e.name())) {
          int reuse = reuse(oldZip, old, byName, byCrc, e, newZip.slice(e.dataOffset(), e.dataLength()));
          Integer pair = reuse >= 0 ? Integer.valueOf(reuse) : byName.containsKey(e.name()) ? byName.get(e.name())
              : pairing.archive(e);
          if (pair != null) {
            used.add(pair);
          }
        }
      }
      List<ByteBuffer> zips = new ArrayList<>();
      List<ZipLayout> layouts = new ArrayList<>();
      long inflated = 0;
      for (int k = 0; k < old.entries.size(); k++) {
        ZipLayout.Entry e = old.entries.get(k);
        if (used.contains(k) || !isArchiveName(e.name())) {
          continue;
        }
        ByteBuffer raw = oldZip.slice(e.dataOffset(), e.dataLength());
        ByteBuffer zip = null;
        if (e.method() == ZipLayout.METHOD_STORED) {
          zip = raw;
        } else if (e.method() == ZipLayout.METHOD_DEFLATED && inflated + e.size() <= DeltaFormat.MAX_CONTENT) {
          byte[] bytes = Deflation.inflate(raw, e.size(), DeltaFormat.MAX_CONTENT);
          if (bytes != null) {
            inflated += bytes.length;
            zip = ByteBuffer.wrap(bytes);
          }
        }
        ZipLayout layout = zip == null ? null : ZipLayout.parse(zip);
        if (layout != null) {
          outer.add(k);
          inflate.add(e.method() == ZipLayout.METHOD_DEFLATED);
          names.add(oldPrefix + e.name() + "!/");
          zips.add(zip);
          layouts.add(layout);
        }
      }
      candidates = outer.isEmpty() ? null : new Candidates(zips, layouts, Set.of());
    }

    /**
     * A predecessor of a new nested zip's entry in one of the unpaired old nested zips, or null:
     * found by name as in one zip, and only one that is stored or inflates within the caps.
     */
    Pair predecessor(ZipLayout.Entry e, byte[] bytes) {
      if (!opened) {
        open();
      }
      Pair p = candidates == null ? null : candidates.predecessor(e, bytes);
      return p == null || candidates.entry(p.id()).size() > DeltaFormat.MAX_DIFFED_ENTRY
          || candidates.sketch(p.id()) == null ? null : p;
    }

    ZipLayout.Entry entry(long id) {
      return candidates.entry(id);
    }

    byte[] bytes(long id) {
      return candidates.inflated(id);
    }

    /** Content reference bytes the entry adds: none once taken, else as many as it holds. */
    long referenceLength(long id) {
      ZipLayout.Entry e = candidates.entry(id);
      return takenSet.contains(id) ? 0 : e.method() == ZipLayout.METHOD_STORED ? e.dataLength() : e.size();
    }

    void take(long id) {
      if (takenSet.add(id)) {
        taken.add(id);
      }
    }

    int taken() {
      return taken.size();
    }

    /** Forgets what was taken after the first {@code mark} (a nested zip whose program failed). */
    void untake(int mark) {
      List<Long> undone = taken.subList(mark, taken.size());
      takenSet.removeAll(undone);
      undone.clear();
    }

    /** The entry's name inside the top-level old zip. */
    String name(long id) {
      return names.get(Candidates.zipOf(id)) + candidates.entry(id).name();
    }

    /** One reference per old nested zip taken from, its entries in file order. */
    List<ZipProgram.Ref> refs() {
      Map<Integer, List<Integer>> byZip = new TreeMap<>();
      for (long id : taken) {
        byZip.computeIfAbsent(Candidates.zipOf(id), z -> new ArrayList<>()).add((int) id);
      }
      List<ZipProgram.Ref> refs = new ArrayList<>();
      byZip.forEach((z, entries) -> {
        entries.sort(null);
        List<ZipProgram.Ref> inner = new ArrayList<>();
        for (int k : entries) {
          inner.add(new ZipProgram.Ref(k,
              candidates.entry(Candidates.id(z, k)).method() == ZipLayout.METHOD_DEFLATED));
        }
        refs.add(new ZipProgram.Ref(outer.get(z), inflate.get(z),
            new ZipProgram.Inner(candidates.layouts.get(z).entries.size(), inner)));
      });
      return refs;
    }
  }

  /** An old entry with exactly the new entry's raw bytes (same name first), or -1. */
  private static int reuse(ByteBuffer oldZip, ZipLayout o, Map<String, Integer> byName, Map<Long, List<Integer>> byCrc,
      ZipLayout.Entry e, ByteBuffer raw) {
    Integer same = byName.get(e.name());
    if (same != null && sameRaw(oldZip, o.entries.get(same), raw)) {
      return same;
    }
    for (int k : byCrc.getOrDefault(e.crc(), List.of())) {
      if (sameRaw(oldZip, o.entries.get(k), raw)) {
        return k;
      }
    }
    return -1;
  }

  /** An old entry's bytes as its content reference holds them: raw, or inflated. */
  private static byte[] referenceBytes(ByteBuffer oldZip, ZipLayout.Entry oe, boolean inflate) {
    ByteBuffer oldRaw = oldZip.slice(oe.dataOffset(), oe.dataLength());
    return inflate ? Deflation.inflate(oldRaw, oe.size(), DeltaFormat.MAX_DIFFED_ENTRY) : copy(oldRaw);
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
