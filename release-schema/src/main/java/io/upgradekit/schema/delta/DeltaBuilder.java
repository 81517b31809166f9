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
   */
  public record DiffRequest(Path oldPayload, Path newPayload, Path delta, Consumer<DeltaEvent> listener,
      int threads, Set<PatchMethod> methods, boolean verify, Path scratch) {
    public DiffRequest {
      Objects.requireNonNull(newPayload, "newPayload");
      Objects.requireNonNull(delta, "delta");
      listener = listener == null ? e -> { } : listener;
      threads = Math.max(1, threads);
      methods = methods == null || methods.isEmpty() ? EnumSet.allOf(PatchMethod.class) : Set.copyOf(methods);
    }

    public static DiffRequest of(Path oldPayload, Path newPayload, Path delta) {
      return new DiffRequest(oldPayload, newPayload, delta, null, Parallel.defaultThreads(), null, true, null);
    }

    public DiffRequest withListener(Consumer<DeltaEvent> l) {
      return new DiffRequest(oldPayload, newPayload, delta, l, threads, methods, verify, scratch);
    }

    public DiffRequest withThreads(int n) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, n, methods, verify, scratch);
    }

    public DiffRequest withMethods(Set<PatchMethod> m) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, m, verify, scratch);
    }

    public DiffRequest withVerify(boolean v) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, methods, v, scratch);
    }

    public DiffRequest withScratch(Path dir) {
      return new DiffRequest(oldPayload, newPayload, delta, listener, threads, methods, verify, dir);
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
   */
  public record DiffResult(long deltaSize, PayloadTree base, PayloadTree target, int kept, int copied,
      int patched, int rebuilt, int full, Duration elapsed) {}

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
          result.patched(), result.rebuilt(), result.full(), Duration.ofNanos(System.nanoTime() - start));
    }
  }

  private static DiffResult diff(Payload old, Payload neu, Path deltaPath, DiffRequest request,
      Consumer<DeltaEvent> listener, Path scratch) {
    long start = System.nanoTime();
    PayloadTree base = old.tree();
    PayloadTree target = neu.tree();
    List<TreeEntry> baseEntries = base.entries();
    List<TreeEntry> targetEntries = target.entries();
    Pairing pairing = new Pairing(base, target, old.isSingleFile() || neu.isSingleFile());

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
      Member m = analyse(job, old, neu, base, request.methods(), true);
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
            members[job.index()] = analyse(job, old, neu, base, request.methods(), false);
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
    for (int k = 0; k < bySize.size(); k++) {
      Member m = members[bySize.get(k).index()];
      if (m.kind() == DeltaFormat.ZIP) {
        rebuilt++;
      } else if (bySize.get(k).source() >= 0) {
        patched++;
      } else {
        full++;
      }
    }

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
    byte[] header = DeltaHeader.write(flags, base.treeHash(), target.treeHash(), indexBytes.length, compressed.length,
        baseName);
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
        Duration.ofNanos(System.nanoTime() - start));
    listener.accept(new DeltaEvent(DeltaEvent.Stage.DONE, "delta of " + size + " bytes", size, size));
    return result;
  }

  /** A changed or new file, and the old file it is diffed against (-1: none). */
  private record Job(int index, TreeEntry entry, int source) {}

  /**
   * One target entry as the index will hold it: its kind, its op bytes (after the kind byte; a
   * group member's bytes lack the group number until {@link #inGroup}), a patch of its own, and a
   * group member's streams and references.
   */
  private record Member(int kind, byte[] op, byte[] blob, byte[] meta, byte[] content, byte[] metaReference,
      byte[] contentReference, byte[] programBytes, long zipOps) {
    static Member fixed(int kind, byte[] op) {
      return new Member(kind, op, null, null, null, null, null, null, 0);
    }

    /** The op bytes with the group number in place (before a zip's program). */
    Member inGroup(int group) {
      ByteWriter w = new ByteWriter(op.length + 4 + (programBytes == null ? 0 : programBytes.length));
      w.bytes(op).varint(group);
      if (programBytes != null) {
        w.bytes(programBytes);
      }
      return new Member(kind, w.toByteArray(), blob, meta, content, metaReference, contentReference, null, zipOps);
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

  private static Member analyse(Job job, Payload old, Payload neu, PayloadTree base, Set<PatchMethod> methods,
      boolean zips) throws IOException {
    TreeEntry e = job.entry();
    byte[] newBytes = readAll(neu.file(e.path()), e);
    byte[] oldBytes = NONE;
    byte[] sha = HexFormat.of().parseHex(e.sha256());
    if (job.source() >= 0) {
      TreeEntry source = base.entries().get(job.source());
      oldBytes = readAll(old.file(source.path()), source);
      ZipDiffer.Built built = zips ? ZipDiffer.diff(ByteBuffer.wrap(oldBytes), ByteBuffer.wrap(newBytes)) : null;
      if (built != null) {
        ByteWriter op = new ByteWriter(48);
        op.varint(e.size()).bytes(sha).varint(job.source());
        ByteWriter program = new ByteWriter(1024);
        built.program().write(program);
        return new Member(DeltaFormat.ZIP, op.toByteArray(), null, built.meta(), built.content(),
            built.metaReference(), built.contentReference(), program.toByteArray(), zipOps(built.program()));
      }
    }
    ByteWriter op = new ByteWriter(48);
    op.varint(e.size()).bytes(sha).varint(job.source() + 1L);
    if (newBytes.length > 0 && newBytes.length <= DeltaFormat.MAX_GROUP_FILE
        && oldBytes.length <= DeltaFormat.MAX_GROUP_FILE) {
      return new Member(DeltaFormat.SOLID, op.toByteArray(), null, NONE, newBytes, NONE, oldBytes, null, 0);
    }
    if (newBytes.length == 0) {
      op.u8(0);
      return new Member(DeltaFormat.PATCH, op.toByteArray(), null, null, null, null, null, null, 0);
    }
    EncodedPatch patch = oldBytes.length == 0
        ? FileCodec.encode(oldBytes, newBytes, EnumSet.of(PatchMethod.ZSTD))
        : FileCodec.encode(oldBytes, newBytes, methods);
    op.u8(patch.method().id()).varint(patch.bytes().length);
    return new Member(DeltaFormat.PATCH, op.toByteArray(), patch.bytes(), null, null, null, null, null, 0);
  }

  /** Entries and references of a program and its nested programs, as readers count them. */
  private static long zipOps(ZipProgram program) {
    long n = program.ops().size() + program.refs().size();
    for (ZipProgram.Op op : program.ops()) {
      if (op instanceof ZipProgram.NestedOp nested) {
        n += zipOps(nested.program());
      }
    }
    return n;
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
