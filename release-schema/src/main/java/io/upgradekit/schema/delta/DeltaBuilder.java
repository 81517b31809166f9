package io.upgradekit.schema.delta;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDictContentType;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.EncodedPatch;
import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
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
    try (Payload old = request.oldPayload() == null ? Payload.empty() : PayloadReader.read(request.oldPayload(), read);
        Payload neu = PayloadReader.read(request.newPayload(), read)) {
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

    List<Job> jobs = new ArrayList<>();
    int kept = 0;
    int copied = 0;
    byte[][] ops = new byte[targetEntries.size()][];
    int[] kinds = new int[targetEntries.size()];
    for (int i = 0; i < targetEntries.size(); i++) {
      TreeEntry e = targetEntries.get(i);
      switch (e.type()) {
        case DIRECTORY -> kinds[i] = DeltaFormat.DIRECTORY;
        case SYMLINK -> {
          kinds[i] = DeltaFormat.SYMLINK;
          ops[i] = new ByteWriter().string(e.target()).toByteArray();
        }
        case FILE -> {
          int same = pairing.samePath(e);
          int copy = pairing.sameContent(e);
          if (same >= 0 && baseEntries.get(same).sha256().equals(e.sha256())) {
            kinds[i] = DeltaFormat.KEEP;
            kept++;
          } else if (copy >= 0) {
            kinds[i] = DeltaFormat.COPY;
            ops[i] = new ByteWriter().varint(copy).toByteArray();
            copied++;
          } else {
            jobs.add(new Job(i, e, pairing.predecessor(e)));
          }
        }
      }
    }

    AtomicInteger done = new AtomicInteger();
    List<Job> bySize = new ArrayList<>(jobs);
    bySize.sort(Comparator.comparingLong((Job j) -> -j.entry().size()));
    List<Encoded> encoded = Parallel.map(bySize, request.threads(), job -> {
      Encoded r = encode(job, old, neu, base, request.methods());
      listener.accept(new DeltaEvent(DeltaEvent.Stage.DIFF, job.entry().path(), done.incrementAndGet(), jobs.size()));
      return r;
    });
    Map<Integer, Encoded> byIndex = new HashMap<>();
    int patched = 0;
    int rebuilt = 0;
    int full = 0;
    for (int k = 0; k < bySize.size(); k++) {
      Encoded r = encoded.get(k);
      byIndex.put(bySize.get(k).index(), r);
      if (r.kind() == DeltaFormat.ZIP) {
        rebuilt++;
      } else if (bySize.get(k).source() >= 0) {
        patched++;
      } else {
        full++;
      }
    }

    ByteWriter index = new ByteWriter(64 * 1024);
    index.varint(baseEntries.size()).varint(targetEntries.size());
    List<byte[]> blobs = new ArrayList<>();
    byte[] previous = new byte[0];
    for (int i = 0; i < targetEntries.size(); i++) {
      TreeEntry e = targetEntries.get(i);
      DeltaIndex.writePath(index, previous, e.path());
      previous = e.path().getBytes(StandardCharsets.UTF_8);
      Encoded r = byIndex.get(i);
      int kind = r != null ? r.kind() : kinds[i];
      index.u8(kind | (e.executable() ? DeltaFormat.EXECUTABLE : 0));
      if (r != null) {
        index.bytes(r.op());
        blobs.addAll(r.blobs());
      } else if (ops[i] != null) {
        index.bytes(ops[i]);
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

  /** A file's kind, its op bytes in the index (after the kind byte), and its patch bytes. */
  private record Encoded(int kind, byte[] op, List<byte[]> blobs) {}

  private static Encoded encode(Job job, Payload old, Payload neu, PayloadTree base, Set<PatchMethod> methods)
      throws IOException {
    TreeEntry e = job.entry();
    byte[] newBytes = readAll(neu.file(e.path()), e);
    byte[] oldBytes = new byte[0];
    if (job.source() >= 0) {
      TreeEntry source = base.entries().get(job.source());
      oldBytes = readAll(old.file(source.path()), source);
      if (ZipLayout.looksLikeZip(ByteBuffer.wrap(newBytes)) && ZipLayout.looksLikeZip(ByteBuffer.wrap(oldBytes))) {
        ZipDiffer.Built built = new ZipDiffer(methods).diffVerified(ByteBuffer.wrap(oldBytes), ByteBuffer.wrap(newBytes), 0);
        if (built != null) {
          ZipDiffer.Serialized s = built.serialize();
          ByteWriter op = new ByteWriter(s.index().length + 48);
          op.varint(e.size()).bytes(HexFormat.of().parseHex(e.sha256())).varint(job.source()).bytes(s.index());
          return new Encoded(DeltaFormat.ZIP, op.toByteArray(), s.blobs());
        }
      }
    }
    ByteWriter op = new ByteWriter(48);
    op.varint(e.size()).bytes(HexFormat.of().parseHex(e.sha256())).varint(job.source() + 1L);
    if (newBytes.length == 0) {
      op.u8(0);
      return new Encoded(DeltaFormat.PATCH, op.toByteArray(), List.of());
    }
    EncodedPatch patch = oldBytes.length == 0
        ? FileCodec.encode(oldBytes, newBytes, EnumSet.of(PatchMethod.ZSTD))
        : FileCodec.encode(oldBytes, newBytes, methods);
    op.u8(patch.method().id()).varint(patch.bytes().length);
    return new Encoded(DeltaFormat.PATCH, op.toByteArray(), List.of(patch.bytes()));
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

  private static long writeDelta(Path deltaPath, byte[] header, byte[] index, List<byte[]> blobs,
      Consumer<DeltaEvent> listener) {
    Path dir = absoluteParent(deltaPath);
    Path temp = null;
    try {
      temp = Files.createTempFile(dir, "." + deltaPath.getFileName(), ".tmp");
      long size = header.length + (long) index.length;
      for (byte[] b : blobs) {
        size += b.length;
      }
      if (size > DeltaFormat.MAX_DELTA_SIZE) {
        throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
            "the delta would be " + size + " bytes; deltas are capped at " + DeltaFormat.MAX_DELTA_SIZE);
      }
      try (OutputStream out = Files.newOutputStream(temp)) {
        out.write(header);
        out.write(index);
        long written = header.length + (long) index.length;
        for (byte[] b : blobs) {
          out.write(b);
          written += b.length;
        }
        listener.accept(new DeltaEvent(DeltaEvent.Stage.WRITE, deltaPath.toString(), written, size));
      }
      try {
        Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: keep its default
      }
      Files.move(temp, deltaPath, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return size;
    } catch (IOException e) {
      FileTrees.deleteQuietly(temp);
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write " + deltaPath + ": " + e.getMessage(), e);
    }
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
