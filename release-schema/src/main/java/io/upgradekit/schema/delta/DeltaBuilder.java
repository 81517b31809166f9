package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.delta.codec.ZstdPatchFrom;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDictContentType;

/**
 * Builds a delta from an old payload to a new one (see docs/delta.md for the ideas and
 * docs/delta-format.md for the bytes). Unchanged files are referenced, moved files found by hash,
 * renamed-with-the-version files paired with their predecessor, changed files patched with the
 * cheapest codec, and zips rebuilt entry by entry. A diff against no old payload is the release's
 * full package: same format, same decoder.
 *
 * <p>Unless told otherwise, the builder proves its delta by applying it to a scratch directory and
 * checking the result against the new tree before it returns.
 */
public final class DeltaBuilder {
  private DeltaBuilder() {}

  /**
   * What to diff.
   *
   * @param oldPayload the old payload (directory, archive or file), or null for "no old payload"
   * @param newPayload the new payload
   * @param delta where to write the delta (replaced if it exists)
   * @param listener receives progress events
   * @param threads how many files to diff at once
   * @param methods the codec methods the builder may use
   * @param verify whether to prove the delta by applying it before returning
   * @param scratch where to unpack archives and verify (null: next to {@code delta})
   * @param explain whether to estimate, for {@link DiffResult#contributions()}, what each changed
   *     file and zip entry that shares a group's codec unit would cost alone (slower)
   */
  public record DiffRequest(Path oldPayload, Path newPayload, Path delta, Consumer<DeltaEvent> listener,
      int threads, Set<PatchMethod> methods, boolean verify, Path scratch, boolean explain) {
    public DiffRequest {
      Objects.requireNonNull(newPayload, "newPayload");
      Objects.requireNonNull(delta, "delta");
      listener = listener == null ? e -> { } : listener;
      threads = Math.max(1, threads);
      methods = methods == null || methods.isEmpty() ? EnumSet.allOf(PatchMethod.class) : Set.copyOf(methods);
    }

    public static DiffRequest of(Path oldPayload, Path newPayload, Path delta) {
      return new DiffRequest(oldPayload, newPayload, delta, null, Parallel.defaultThreads(), null, true, null, false);
    }

    public DiffRequest withListener(Consumer<DeltaEvent> l) {
      return new DiffRequest(oldPayload, newPayload, delta, l, threads, methods, verify, scratch, explain);
    }

    public DiffRequest withThreads(int n) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, n, methods, verify, scratch, explain);
    }

    public DiffRequest withMethods(Set<PatchMethod> m) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, m, verify, scratch, explain);
    }

    public DiffRequest withVerify(boolean v) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, methods, v, scratch, explain);
    }

    public DiffRequest withExplain(boolean e) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, methods, verify, scratch, e);
    }

    public DiffRequest withScratch(Path dir) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, methods, verify, dir, explain);
    }
  }

  /**
   * What the diff produced.
   *
   * @param deltaSize bytes of the delta blob
   * @param base the old tree (empty for a full package)
   * @param target the new tree
   * @param kept files referenced from the same path
   * @param copied files referenced from another old path (moved, renamed or duplicated)
   * @param patched files patched against an old file
   * @param rebuilt zips rebuilt entry by entry
   * @param full files shipped whole (compressed)
   * @param elapsed wall time, including verification
   * @param fallbacks how many zip entries shipped their compressed bytes, and zips were patched as
   *     whole files, by reason (for example "zip entry: no JDK deflate level reproduces it")
   * @param contributions every changed file and changed zip entry, largest cost first
   */
  public record DiffResult(long deltaSize, PayloadTree base, PayloadTree target, int kept, int copied,
      int patched, int rebuilt, int full, Duration elapsed, Map<String, Integer> fallbacks,
      List<Contribution> contributions) {
    public DiffResult {
      fallbacks = Map.copyOf(fallbacks);
      contributions = List.copyOf(contributions);
    }
  }

  /**
   * How one changed file, or one changed entry of a zip, went into the delta.
   *
   * @param path its path; a zip entry as {@code zip-path!/entry} (nested zips likewise)
   * @param encoding {@code patch} (a patch of its own), {@code group} (a file in a group's codec
   *     unit), {@code zip} (a zip rebuilt entry by entry; its changed entries follow), {@code stream}
   *     (a zip entry in a group's unit), {@code own} (a zip entry with a unit of its own), or
   *     {@code compressed} (a zip entry shipped as its compressed bytes)
   * @param size its new size (uncompressed for zip entries; compressed for {@code compressed})
   * @param source what it was diffed against, or null: shipped as new
   * @param pairedBy how the source was found: {@code path}, {@code name}, {@code version},
   *     {@code hash}, {@code moved}; null without a source
   * @param fallback why a zip entry or a zip did not get the usual treatment, or null
   * @param bytes its bytes in the delta: exact for {@code patch} and {@code own}; for group members
   *     an estimate of its cost alone when explaining, else -1; for {@code zip} its own units only
   */
  public record Contribution(String path, String encoding, long size, String source, String pairedBy,
      String fallback, long bytes) {}

  /**
   * @throws UpgradeException PAYLOAD_INVALID for inputs that cannot be payloads, IO_ERROR for file
   *     system failures, and (a bug) any verification failure of the delta just built
   */
  public static DiffResult diff(DiffRequest request) {
    long start = System.nanoTime();
    Consumer<DeltaEvent> listener = serialized(request.listener());
    Path scratch = request.scratch() != null ? request.scratch() : absoluteParent(request.delta());
    PayloadReader.Options read = PayloadReader.Options.defaults().withScratch(scratch).withThreads(request.threads());
    listener.accept(new DeltaEvent(DeltaEvent.Stage.SCAN, String.valueOf(request.newPayload()), 0, -1));
    // Both payloads are read (unpacked, hashed) at once: unpacking an archive is sequential work.
    Path[] inputs = {request.oldPayload(), request.newPayload()};
    Payload[] opened = new Payload[2];
    try {
      Parallel.map(List.of(0, 1), request.threads(), i -> {
        opened[i] = inputs[i] == null ? Payload.empty() : PayloadReader.read(inputs[i], read);
        return null;
      });
    } catch (RuntimeException e) {
      for (Payload p : opened) {
        if (p != null) {
          p.close();
        }
      }
      throw e;
    }
    try (Payload old = opened[0]; Payload neu = opened[1]) {
      DiffResult result = diff(old, neu, request.delta(), request, listener, scratch);
      return new DiffResult(result.deltaSize(), result.base(), result.target(), result.kept(), result.copied(),
          result.patched(), result.rebuilt(), result.full(), Duration.ofNanos(System.nanoTime() - start),
          result.fallbacks(), result.contributions());
    }
  }

  private static DiffResult diff(Payload old, Payload neu, Path deltaPath, DiffRequest request,
      Consumer<DeltaEvent> listener, Path scratch) {
    long start = System.nanoTime();
    PayloadTree base = old.tree();
    PayloadTree target = neu.tree();
    List<TreeEntry> baseEntries = base.entries();
    List<TreeEntry> targetEntries = target.entries();
    Pairing pairing = new Pairing(base, target, old.isSingleFile() || neu.isSingleFile(),
        new FileSimilarity(old, neu, base));

    // 1. What each entry is: references to old files and earlier entries are decided here; the
    //    rest are jobs for the codec.
    List<Job> jobs = new ArrayList<>();
    Map<String, Integer> firstProduced = new HashMap<>();
    Member[] members = new Member[targetEntries.size()];
    int kept = 0;
    int copied = 0;
    for (int i = 0; i < targetEntries.size(); i++) {
      TreeEntry e = targetEntries.get(i);
      switch (e.type()) {
        case DIRECTORY -> members[i] = Member.fixed(DeltaFormat.DIRECTORY, null);
        case SYMLINK -> members[i] = Member.fixed(DeltaFormat.SYMLINK, new ByteWriter().string(e.target()).toByteArray());
        case FILE -> {
          int same = pairing.samePath(e);
          int copy = pairing.sameContent(e);
          Integer earlier = firstProduced.get(e.sha256());
          if (same >= 0 && baseEntries.get(same).sha256().equals(e.sha256())) {
            members[i] = Member.fixed(DeltaFormat.KEEP, null);
            kept++;
          } else if (copy >= 0) {
            members[i] = Member.fixed(DeltaFormat.COPY, new ByteWriter().varint(copy).toByteArray());
            copied++;
          } else if (earlier != null) {
            members[i] = Member.fixed(DeltaFormat.SAME, new ByteWriter().varint(earlier).toByteArray());
            copied++;
          } else {
            firstProduced.put(e.sha256(), i);
            jobs.add(new Job(i, e, pairing.predecessor(e)));
          }
        }
      }
    }

    // 2. Analyse changed files in parallel: zips become programs, small files join a group, big
    //    ones get a patch of their own.
    AtomicInteger done = new AtomicInteger();
    List<Job> bySize = new ArrayList<>(jobs);
    bySize.sort(Comparator.comparingLong((Job j) -> -j.entry().size()));
    List<Member> analysed = Parallel.map(bySize, request.threads(), job -> {
      Member m = analyse(job, old, neu, base, request, true);
      listener.accept(new DeltaEvent(DeltaEvent.Stage.DIFF, job.entry().path(), done.incrementAndGet(), jobs.size()));
      return m;
    });
    for (int k = 0; k < bySize.size(); k++) {
      members[bySize.get(k).index()] = analysed.get(k);
    }
    // Readers hold every zip program in memory, so a delta's programs have a joint cap: past it
    // (in entry order), a zip is patched as a file.
    long zipOps = 0;
    for (Job job : jobs) {
      Member m = members[job.index()];
      if (m.kind() == DeltaFormat.ZIP) {
        zipOps += m.zipOps();
        if (zipOps > DeltaFormat.MAX_ZIP_OPS) {
          zipOps -= m.zipOps();
          try {
            members[job.index()] = analyse(job, old, neu, base, request, false).withFailure(
                "its zip programs would exceed the delta's " + DeltaFormat.MAX_ZIP_OPS + " entries");
          } catch (IOException e) {
            throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read '" + job.entry().path() + "': "
                + e.getMessage(), e);
          }
        }
      }
    }
    int patched = 0;
    int rebuilt = 0;
    int full = 0;
    Map<String, Integer> fallbacks = new TreeMap<>();
    List<Contribution> contributions = new ArrayList<>();
    for (int k = 0; k < bySize.size(); k++) {
      Job job = bySize.get(k);
      Member m = members[job.index()];
      if (m.kind() == DeltaFormat.ZIP) {
        rebuilt++;
      } else if (job.source() >= 0) {
        patched++;
      } else {
        full++;
      }
      if (m.zipFailure() != null) {
        fallbacks.merge("zip patched as a whole file: " + m.zipFailure(), 1, Integer::sum);
      }
      String source = job.source() < 0 ? null : baseEntries.get(job.source()).path();
      String how = job.source() < 0 ? null : source.equals(job.entry().path()) ? "path" : "name";
      String encoding = m.kind() == DeltaFormat.ZIP ? "zip" : m.kind() == DeltaFormat.SOLID ? "group" : "patch";
      long bytes = m.kind() == DeltaFormat.PATCH ? (m.blob() == null ? 0 : m.blob().length)
          : m.kind() == DeltaFormat.ZIP ? (m.blob() == null ? 0 : m.blob().length) : m.estimate();
      contributions.add(new Contribution(job.entry().path(), encoding, job.entry().size(), source, how,
          m.zipFailure(), bytes));
      for (ZipDiffer.Note n : m.notes()) {
        String path = job.entry().path() + "!/" + n.name();
        contributions.add(new Contribution(path, n.encoding(), n.size(),
            n.oldName() == null ? null : source + "!/" + n.oldName(), n.pairedBy(), n.fallback(), n.patchBytes()));
        if (n.fallback() != null) {
          fallbacks.merge("zip entry shipped compressed: " + n.fallback(), 1, Integer::sum);
        }
      }
    }
    contributions.sort(Comparator.comparingLong((Contribution c) -> -(c.bytes() >= 0 ? c.bytes() : c.size())));

    // 3. Form groups in entry order within the stream caps, and encode them.
    List<GroupBuilder> groups = new ArrayList<>();
    GroupBuilder current = null;
    for (int i = 0; i < members.length; i++) {
      Member m = members[i];
      if (m.kind() != DeltaFormat.SOLID && m.kind() != DeltaFormat.ZIP) {
        continue;
      }
      if (current == null || !current.fits(m)) {
        current = new GroupBuilder(groups.size());
        groups.add(current);
      }
      current.add(m);
      members[i] = m.inGroup(current.index);
    }
    // Every (group, stream, method) is a task, so both cores stay busy even with one group.
    List<Task> tasks = new ArrayList<>();
    for (GroupBuilder g : groups) {
      for (boolean meta : new boolean[] {true, false}) {
        for (PatchMethod method : g.methods(meta, request.methods())) {
          tasks.add(new Task(g, meta, method));
        }
      }
    }
    tasks.sort(Comparator.comparingLong((Task t) -> -t.size()));
    List<EncodedPatch> encodedTasks = Parallel.map(tasks, request.threads(), Task::encode);
    for (int k = 0; k < tasks.size(); k++) {
      tasks.get(k).keepIfSmaller(encodedTasks.get(k));
    }

    // 4. Write the index and the data section.
    ByteWriter index = new ByteWriter(64 * 1024);
    List<byte[]> blobs = new ArrayList<>();
    boolean rebuildsZips = Arrays.stream(members).anyMatch(m -> m.kind() == DeltaFormat.ZIP);
    index.varint(baseEntries.size()).varint(rebuildsZips ? Integer.toUnsignedLong(Deflation.fingerprint()) : 0)
        .varint(groups.size());
    for (GroupBuilder g : groups) {
      Unit.write(index, g.metaPatch, g.meta.size());
      Unit.write(index, g.contentPatch, g.content.size());
      if (g.meta.size() > 0) {
        blobs.add(g.metaPatch.bytes());
      }
      if (g.content.size() > 0) {
        blobs.add(g.contentPatch.bytes());
      }
    }
    index.varint(targetEntries.size());
    byte[] previous = new byte[0];
    for (int i = 0; i < targetEntries.size(); i++) {
      TreeEntry e = targetEntries.get(i);
      DeltaIndex.writePath(index, previous, e.path());
      previous = e.path().getBytes(StandardCharsets.UTF_8);
      Member m = members[i];
      index.u8(m.kind() | (e.executable() ? DeltaFormat.EXECUTABLE : 0));
      if (m.op() != null) {
        index.bytes(m.op());
      }
      if (m.blob() != null) {
        blobs.add(m.blob());
      }
    }
    byte[] indexBytes = index.toByteArray();
    byte[] compressed = compressIndex(indexBytes, DeltaFormat.indexDictionary(base));
    int flags = (old.isSingleFile() ? DeltaFormat.FLAG_BASE_SINGLE_FILE : 0)
        | (neu.isSingleFile() ? DeltaFormat.FLAG_TARGET_SINGLE_FILE : 0);
    String baseName = old.isSingleFile() ? baseEntries.get(0).path() : null;
    // The oldest version that expresses every zip program, so older updaters take the rest.
    int version = Arrays.stream(members).mapToInt(Member::version).max().orElse(DeltaFormat.VERSION);
    byte[] header = DeltaHeader.write(version, flags, base.treeHash(), target.treeHash(), indexBytes.length,
        compressed.length, baseName);
    long size = writeDelta(deltaPath, header, compressed, blobs, listener);

    if (request.verify()) {
      listener.accept(new DeltaEvent(DeltaEvent.Stage.VERIFY, deltaPath.toString(), 0, -1));
      Path dir = null;
      try {
        dir = Files.createTempDirectory(scratch, ".verify-");
        DeltaApplier.apply(old, deltaPath, dir.resolve("out"), DeltaApplier.Options.quiet(request.threads()));
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot verify the delta: " + e.getMessage(), e);
      } catch (UpgradeException e) {
        if (e.code() == ErrorCode.IO_ERROR) {
          throw e;
        }
        throw new IllegalStateException("the delta just built does not reproduce the new payload: " + e, e);
      } finally {
        FileTrees.deleteQuietly(dir);
      }
    }
    DiffResult result = new DiffResult(size, base, target, kept, copied, patched, rebuilt, full,
        Duration.ofNanos(System.nanoTime() - start), fallbacks, contributions);
    listener.accept(new DeltaEvent(DeltaEvent.Stage.DONE, "delta of " + size + " bytes", size, size));
    return result;
  }

  /** Content similarity of tree files, from sketches computed once per file (files up to the diffed-entry cap). */
  private static final class FileSimilarity implements Pairing.Similarity {
    private final Payload old;
    private final Payload neu;
    private final PayloadTree base;
    private final Map<String, Sketch> oldSketches = new HashMap<>();
    private final Map<String, Sketch> newSketches = new HashMap<>();

    FileSimilarity(Payload old, Payload neu, PayloadTree base) {
      this.old = old;
      this.neu = neu;
      this.base = base;
    }

    @Override
    public double of(int oldIndex, TreeEntry newEntry) {
      TreeEntry o = base.entries().get(oldIndex);
      Sketch a = sketch(oldSketches, old, o);
      Sketch b = sketch(newSketches, neu, newEntry);
      return a == null || b == null ? -1 : a.similarity(b);
    }

    private static Sketch sketch(Map<String, Sketch> cache, Payload payload, TreeEntry e) {
      if (e.size() > DeltaFormat.MAX_DIFFED_ENTRY) {
        return null;
      }
      return cache.computeIfAbsent(e.path(), p -> {
        try {
          return Sketch.of(map(payload.file(p), e));
        } catch (IOException x) {
          throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read '" + p + "': " + x.getMessage(), x);
        }
      });
    }
  }

  /** A changed or new file, and the old file it is diffed against (-1: none). */
  private record Job(int index, TreeEntry entry, int source) {}

  /**
   * One target entry as the index will hold it: its kind, its op bytes (after the kind byte; a
   * group member's bytes lack the group number until {@link #inGroup}), its data bytes (a patch, or
   * a zip's own units), a group member's streams and references, and the oldest format version
   * that expresses it; for the report, a zip's notes, why a zip was patched as a file, and a group
   * file's estimated cost.
   */
  private record Member(int kind, byte[] op, byte[] blob, byte[] meta, byte[] content, byte[] metaReference,
      byte[] contentReference, byte[] programBytes, long zipOps, int version, List<ZipDiffer.Note> notes,
      String zipFailure, long estimate) {
    Member(int kind, byte[] op, byte[] blob, byte[] meta, byte[] content, byte[] metaReference,
        byte[] contentReference, byte[] programBytes, long zipOps, int version) {
      this(kind, op, blob, meta, content, metaReference, contentReference, programBytes, zipOps, version, List.of(),
          null, -1);
    }

    static Member fixed(int kind, byte[] op) {
      return new Member(kind, op, null, null, null, null, null, null, 0, DeltaFormat.VERSION);
    }

    Member withFailure(String failure) {
      return new Member(kind, op, blob, meta, content, metaReference, contentReference, programBytes, zipOps, version,
          notes, failure, estimate);
    }

    Member withNotes(List<ZipDiffer.Note> n) {
      return new Member(kind, op, blob, meta, content, metaReference, contentReference, programBytes, zipOps, version,
          n, zipFailure, estimate);
    }

    Member withEstimate(long e) {
      return new Member(kind, op, blob, meta, content, metaReference, contentReference, programBytes, zipOps, version,
          notes, zipFailure, e);
    }

    /** The op bytes with the group number in place (before a zip's program). */
    Member inGroup(int group) {
      ByteWriter w = new ByteWriter(op.length + 4 + (programBytes == null ? 0 : programBytes.length));
      w.bytes(op).varint(group);
      if (programBytes != null) {
        w.bytes(programBytes);
      }
      return new Member(kind, w.toByteArray(), blob, meta, content, metaReference, contentReference, null, zipOps,
          version, notes, zipFailure, estimate);
    }
  }

  /** Members sharing two codec units, within the stream caps. */
  private static final class GroupBuilder {
    final int index;
    final ByteArrayOutputStream meta = new ByteArrayOutputStream();
    final ByteArrayOutputStream content = new ByteArrayOutputStream();
    final ByteArrayOutputStream metaReference = new ByteArrayOutputStream();
    final ByteArrayOutputStream contentReference = new ByteArrayOutputStream();
    EncodedPatch metaPatch;
    EncodedPatch contentPatch;

    GroupBuilder(int index) {
      this.index = index;
    }

    boolean fits(Member m) {
      return meta.size() + (long) m.meta().length <= DeltaFormat.MAX_META
          && metaReference.size() + (long) m.metaReference().length <= DeltaFormat.MAX_META
          && content.size() + (long) m.content().length <= DeltaFormat.MAX_CONTENT
          && contentReference.size() + (long) m.contentReference().length <= DeltaFormat.MAX_CONTENT;
    }

    void add(Member m) {
      meta.writeBytes(m.meta());
      content.writeBytes(m.content());
      metaReference.writeBytes(m.metaReference());
      contentReference.writeBytes(m.contentReference());
    }

    /**
     * The methods worth trying for a stream. Plain zstd when there is no reference. Metadata:
     * bsdiff and patch-from (patch-from won on every corpus pair, by 12-40%, and both are cheap on
     * it). Content: bsdiff (it won on every corpus pair, by 2-5x on jars' class files), patch-from
     * only if bsdiff is not allowed: patch-from at level 19 on megabytes of content cost more time
     * than bsdiff itself (jetty-tgz: 8.0 s against 6.1 s) and never paid.
     */
    List<PatchMethod> methods(boolean forMeta, Set<PatchMethod> allowed) {
      int target = forMeta ? meta.size() : content.size();
      int reference = forMeta ? metaReference.size() : contentReference.size();
      List<PatchMethod> methods = new ArrayList<>();
      if (target == 0) {
        return methods;
      }
      boolean bsdiff = reference > 0 && allowed.contains(PatchMethod.BSDIFF_ZSTD);
      boolean patchFrom = reference > 0 && reference <= ZstdPatchFrom.MAX_OLD_SIZE
          && allowed.contains(PatchMethod.ZSTD_PATCH_FROM);
      if (bsdiff) {
        methods.add(PatchMethod.BSDIFF_ZSTD);
      }
      if (patchFrom && (forMeta || !bsdiff)) {
        methods.add(PatchMethod.ZSTD_PATCH_FROM);
      }
      if (methods.isEmpty()) {
        methods.add(PatchMethod.ZSTD);
      }
      return methods;
    }

    synchronized void keep(boolean forMeta, EncodedPatch patch) {
      EncodedPatch current = forMeta ? metaPatch : contentPatch;
      if (current == null || patch.bytes().length < current.bytes().length
          || (patch.bytes().length == current.bytes().length && decodeCost(patch) < decodeCost(current))) {
        if (forMeta) {
          metaPatch = patch;
        } else {
          contentPatch = patch;
        }
      }
    }

    private static int decodeCost(EncodedPatch p) {
      return p.method() == PatchMethod.ZSTD ? 0 : p.method() == PatchMethod.ZSTD_PATCH_FROM ? 1 : 2;
    }
  }

  /** Encoding one stream of one group with one method. */
  private record Task(GroupBuilder group, boolean meta, PatchMethod method) {
    long size() {
      return (meta ? group.meta.size() : group.content.size()) * (method == PatchMethod.BSDIFF_ZSTD ? 3L : 1L);
    }

    EncodedPatch encode() {
      byte[] target = meta ? group.meta.toByteArray() : group.content.toByteArray();
      byte[] reference = meta ? group.metaReference.toByteArray() : group.contentReference.toByteArray();
      return FileCodec.encode(reference, target, EnumSet.of(method));
    }

    void keepIfSmaller(EncodedPatch patch) {
      group.keep(meta, patch);
    }
  }

  private static final byte[] NONE = new byte[0];

  private static Member analyse(Job job, Payload old, Payload neu, PayloadTree base, DiffRequest request,
      boolean zips) throws IOException {
    TreeEntry e = job.entry();
    byte[] sha = HexFormat.of().parseHex(e.sha256());
    String zipFailure = null;
    if (job.source() >= 0 && zips) {
      TreeEntry source = base.entries().get(job.source());
      // Read in place: the heap holds what changed, entry by entry, never the whole zip.
      ZipDiffer.Result result = ZipDiffer.diff(map(old.file(source.path()), source), map(neu.file(e.path()), e),
          request.methods(), request.explain());
      ZipDiffer.Built built = result.built();
      if (built != null) {
        ByteWriter op = new ByteWriter(48);
        op.varint(e.size()).bytes(sha).varint(job.source());
        ByteWriter program = new ByteWriter(1024);
        built.program().write(program);
        return new Member(DeltaFormat.ZIP, op.toByteArray(), built.ownPatches().length == 0 ? null : built.ownPatches(),
            built.meta(), built.content(), built.metaReference(), built.contentReference(), program.toByteArray(),
            zipOps(built.program()), built.program().formatVersion()).withNotes(built.notes());
      }
      zipFailure = ZipDiffer.isArchiveName(e.path()) ? result.failure() : null;
    }
    return fileMember(job, old, neu, base, request, sha).withFailure(zipFailure);
  }

  /** A changed file diffed as a whole: in a group if small enough, else a patch of its own. */
  private static Member fileMember(Job job, Payload old, Payload neu, PayloadTree base, DiffRequest request,
      byte[] sha) throws IOException {
    TreeEntry e = job.entry();
    Set<PatchMethod> methods = request.methods();
    byte[] newBytes = readAll(neu.file(e.path()), e);
    byte[] oldBytes = NONE;
    if (job.source() >= 0) {
      TreeEntry source = base.entries().get(job.source());
      oldBytes = readAll(old.file(source.path()), source);
    }
    ByteWriter op = new ByteWriter(48);
    op.varint(e.size()).bytes(sha).varint(job.source() + 1L);
    if (newBytes.length > 0 && newBytes.length <= DeltaFormat.MAX_GROUP_FILE
        && oldBytes.length <= DeltaFormat.MAX_GROUP_FILE) {
      Member m = new Member(DeltaFormat.SOLID, op.toByteArray(), null, NONE, newBytes, NONE, oldBytes, null, 0,
          DeltaFormat.VERSION);
      return request.explain() ? m.withEstimate(Estimate.of(oldBytes, newBytes)) : m;
    }
    if (newBytes.length == 0) {
      op.u8(0);
      return new Member(DeltaFormat.PATCH, op.toByteArray(), null, null, null, null, null, null, 0,
          DeltaFormat.VERSION);
    }
    EncodedPatch patch = oldBytes.length == 0
        ? FileCodec.encode(oldBytes, newBytes, EnumSet.of(PatchMethod.ZSTD))
        : FileCodec.encode(oldBytes, newBytes, methods);
    op.u8(patch.method().id()).varint(patch.bytes().length);
    return new Member(DeltaFormat.PATCH, op.toByteArray(), patch.bytes(), null, null, null, null, null, 0,
        DeltaFormat.VERSION);
  }

  /** Entries and references of a program and its nested programs, as readers count them. */
  private static long zipOps(ZipProgram program) {
    long n = program.ops().size() + program.refs().size();
    for (ZipProgram.Ref ref : program.refs()) {
      n += ref.inner() == null ? 0 : ref.inner().entries().size();
    }
    for (ZipProgram.Op op : program.ops()) {
      if (op instanceof ZipProgram.NestedOp nested) {
        n += zipOps(nested.program());
      }
    }
    return n;
  }

  /** A file read in place through a memory map (files here are at most 2 GiB, see readAll). */
  private static ByteBuffer map(Path file, TreeEntry e) throws IOException {
    if (e.size() > Integer.MAX_VALUE - 8) {
      throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
          "'" + e.path() + "' is " + e.size() + " bytes; deltas handle files up to 2 GiB");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (ch.size() != e.size()) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "'" + e.path() + "' changed while the delta was built");
      }
      return ch.map(FileChannel.MapMode.READ_ONLY, 0, e.size());
    }
  }

  private static byte[] readAll(Path file, TreeEntry e) throws IOException {
    if (e.size() > Integer.MAX_VALUE - 8) {
      throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
          "'" + e.path() + "' is " + e.size() + " bytes; deltas handle files up to 2 GiB");
    }
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length != e.size()) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "'" + e.path() + "' changed while the delta was built");
    }
    return bytes;
  }

  private static byte[] compressIndex(byte[] index, byte[] dictionary) {
    try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
      ctx.setLevel(19);
      if (dictionary.length > 0) {
        ctx.loadDict(dictionary, ZstdDictContentType.RAW_CONTENT);
      }
      return ctx.compress(index);
    }
  }

  /** Writes the delta the project's one durable way: temp file, force, atomic rename. */
  private static long writeDelta(Path deltaPath, byte[] header, byte[] index, List<byte[]> blobs,
      Consumer<DeltaEvent> listener) {
    long size = header.length + (long) index.length;
    for (byte[] b : blobs) {
      size += b.length;
    }
    if (size > DeltaFormat.MAX_DELTA_SIZE) {
      throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
          "the delta would be " + size + " bytes; deltas are capped at " + DeltaFormat.MAX_DELTA_SIZE);
    }
    try {
      DurableFiles.writeAtomically(deltaPath, out -> {
        out.write(header);
        out.write(index);
        for (byte[] b : blobs) {
          out.write(b);
        }
      });
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write " + deltaPath + ": " + e.getMessage(), e);
    }
    listener.accept(new DeltaEvent(DeltaEvent.Stage.WRITE, deltaPath.toString(), size, size));
    return size;
  }

  static Path absoluteParent(Path file) {
    Path parent = file.toAbsolutePath().getParent();
    return parent != null ? parent : file.toAbsolutePath().getRoot();
  }

  static Consumer<DeltaEvent> serialized(Consumer<DeltaEvent> listener) {
    Object lock = new Object();
    return e -> {
      synchronized (lock) {
        listener.accept(e);
      }
    };
  }
}
