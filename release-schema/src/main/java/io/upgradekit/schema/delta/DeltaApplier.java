package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.codec.FrameInput;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Applies a delta to an old payload, producing the new tree in a fresh directory (or, for a
 * single-file payload, a fresh file).
 *
 * <p>Order of checks: the header, then the old tree's hash against the delta's base
 * ({@link ErrorCode#BASE_MISMATCH}, before anything is written), then the index, whose rebuilt
 * target tree must hash to the delta's target. Files are then produced in a staging directory next
 * to the output, each checked against its size and SHA-256; only a complete, verified result is
 * renamed into place. On any failure the staging directory is removed and nothing is left behind.
 *
 * <p>Work is O(changed bytes): unchanged files are hard-linked from the old payload when it is on
 * the same file system and the executable bit matches (a link shares the inode, so the engine
 * never changes a linked file's mode), copied otherwise. Old files are read through memory maps.
 */
public final class DeltaApplier {
  private DeltaApplier() {}

  /**
   * What to apply.
   *
   * @param oldPayload the old payload (directory, archive or file), or null to apply a full package
   * @param delta the delta blob
   * @param out the directory (or, for a single-file payload, the file) to create; must not exist,
   *     except that a single-file payload may go into an existing directory under its own name
   * @param listener receives progress events
   * @param threads how many files to produce at once
   * @param expectedTargetTreeHash if set, the delta must produce this tree (from the signed manifest)
   */
  public record ApplyRequest(Path oldPayload, Path delta, Path out, Consumer<DeltaEvent> listener, int threads,
      String expectedTargetTreeHash) {
    public ApplyRequest {
      Objects.requireNonNull(delta, "delta");
      Objects.requireNonNull(out, "out");
      listener = listener == null ? e -> { } : listener;
      threads = Math.max(1, threads);
    }

    public static ApplyRequest of(Path oldPayload, Path delta, Path out) {
      return new ApplyRequest(oldPayload, delta, out, null, Parallel.defaultThreads(), null);
    }

    public ApplyRequest withListener(Consumer<DeltaEvent> l) {
      return new ApplyRequest(oldPayload, delta, out, l, threads, expectedTargetTreeHash);
    }

    public ApplyRequest withThreads(int n) {
      return new ApplyRequest(oldPayload, delta, out, listener, n, expectedTargetTreeHash);
    }

    public ApplyRequest withExpectedTargetTreeHash(String hash) {
      return new ApplyRequest(oldPayload, delta, out, listener, threads, hash);
    }
  }

  /**
   * What the apply produced.
   *
   * @param target the tree now at {@code out}
   * @param out where it is
   * @param linked files hard-linked from the old payload
   * @param copied files copied from the old payload
   * @param produced files rebuilt from patches
   * @param producedBytes bytes of rebuilt files
   * @param elapsed wall time of the whole apply: reading (and hashing) the old payload, decoding,
   *     writing and verifying
   */
  public record ApplyResult(PayloadTree target, Path out, int linked, int copied, int produced, long producedBytes,
      Duration elapsed) {}

  /** Internal knobs shared by {@link #apply(ApplyRequest)} and the builder's verification. */
  record Options(Consumer<DeltaEvent> listener, int threads, String expectedTargetTreeHash) {
    static Options quiet(int threads) {
      return new Options(e -> { }, threads, null);
    }
  }

  /** Reads a delta's header: its base and target tree hashes and payload kinds. */
  public static DeltaHeader readHeader(Path delta) {
    try (FileChannel ch = FileChannel.open(delta, StandardOpenOption.READ)) {
      return DeltaHeader.read(map(ch, delta));
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + delta + ": " + e.getMessage(), e);
    }
  }

  /**
   * @throws UpgradeException BASE_MISMATCH if the old payload is not the delta's base; PATCH_MALFORMED
   *     for a delta that is not well-formed; HASH_MISMATCH when a produced file or the tree is not
   *     the one the delta promises; PAYLOAD_INVALID for an unreadable old payload; IO_ERROR for file
   *     system failures (including an existing {@code out})
   */
  public static ApplyResult apply(ApplyRequest request) {
    long start = System.nanoTime();
    Consumer<DeltaEvent> listener = DeltaBuilder.serialized(request.listener());
    Options options = new Options(listener, request.threads(), request.expectedTargetTreeHash());
    DeltaHeader header = readHeader(request.delta());
    if (!(header.targetIsSingleFile() && Files.isDirectory(request.out(), LinkOption.NOFOLLOW_LINKS))) {
      requireAbsent(request.out());
    }
    if (request.oldPayload() == null) {
      return apply(Payload.empty(), request.delta(), request.out(), options, start);
    }
    PayloadReader.Options read = PayloadReader.Options.defaults().withThreads(request.threads())
        .withScratch(DeltaBuilder.absoluteParent(request.out()));
    if (header.baseIsSingleFile() && Files.isRegularFile(request.oldPayload()) && !isArchiveName(request.oldPayload())) {
      read = read.withSingleFileName(header.baseName());
    }
    listener.accept(new DeltaEvent(DeltaEvent.Stage.SCAN, request.oldPayload().toString(), 0, -1));
    try (Payload old = PayloadReader.read(request.oldPayload(), read)) {
      return apply(old, request.delta(), request.out(), options, start);
    }
  }

  static ApplyResult apply(Payload old, Path deltaPath, Path out, Options options) {
    return apply(old, deltaPath, out, options, System.nanoTime());
  }

  private static ApplyResult apply(Payload old, Path deltaPath, Path out, Options options, long start) {
    try (FileChannel ch = FileChannel.open(deltaPath, StandardOpenOption.READ)) {
      ByteBuffer delta = map(ch, deltaPath);
      DeltaHeader header = DeltaHeader.read(delta);
      if (!old.tree().treeHash().equals(header.baseTreeHash())) {
        throw new UpgradeException(ErrorCode.BASE_MISMATCH, "the delta applies to tree " + header.baseTreeHash()
            + ", but the old payload is tree " + old.tree().treeHash()
            + ": use the delta built from the installed version, or the full package");
      }
      if (options.expectedTargetTreeHash() != null && !options.expectedTargetTreeHash().equals(header.targetTreeHash())) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH, "the delta produces tree " + header.targetTreeHash()
            + ", expected " + options.expectedTargetTreeHash());
      }
      DeltaIndex.Plan plan = readIndex(delta, header, old.tree());
      if (!plan.target().treeHash().equals(header.targetTreeHash())) {
        throw ByteReader.malformed("its index describes tree " + plan.target().treeHash() + ", its header promises "
            + header.targetTreeHash());
      }
      if (plan.deflater() != 0 && plan.deflater() != Deflation.fingerprint()) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH, "this JVM's deflater (zlib) compresses differently from "
            + "the one that built the delta, so its zip entries cannot be rebuilt byte for byte: use the full package");
      }
      if (header.targetIsSingleFile() && (plan.target().entries().size() != 1
          || plan.target().entries().get(0).type() != TreeEntry.EntryType.FILE)) {
        throw ByteReader.malformed("a single-file delta must produce exactly one file");
      }
      return produce(old, delta, plan, out, header.targetIsSingleFile(), options, start);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + deltaPath + ": " + e.getMessage(), e);
    }
  }

  private static ApplyResult produce(Payload old, ByteBuffer delta, DeltaIndex.Plan plan, Path out,
      boolean singleFile, Options options, long start) {
    if (singleFile && Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
      out = out.resolve(plan.target().entries().get(0).path());
    }
    requireAbsent(out);
    Path parent = DeltaBuilder.absoluteParent(out);
    Path staging = null;
    Scratch scratch = null;
    try {
      staging = Files.createTempDirectory(parent, "." + out.getFileName() + ".partial-");
      scratch = Scratch.in(parent, "." + out.getFileName() + ".scratch-");
      Work work = new Work(old, delta, staging, options, scratch);
      work.run(plan);
      if (singleFile) {
        Files.move(staging.resolve(plan.target().entries().get(0).path()), out, StandardCopyOption.ATOMIC_MOVE);
        Files.delete(staging);
      } else {
        Files.move(staging, out, StandardCopyOption.ATOMIC_MOVE);
      }
      staging = null;
      ApplyResult result = new ApplyResult(plan.target(), out, work.linked.get(), work.copied.get(),
          work.produced.get(), work.producedBytes.get(), Duration.ofNanos(System.nanoTime() - start));
      options.listener().accept(new DeltaEvent(DeltaEvent.Stage.DONE, out.toString(), plan.ops().size(),
          plan.ops().size()));
      return result;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write " + out + ": " + e.getMessage(), e);
    } finally {
      FileTrees.deleteQuietly(staging);
      if (scratch != null) {
        scratch.close();
      }
    }
  }

  /** Produces every entry of a plan under a root. */
  private static final class Work {
    private final Payload old;
    private final ByteBuffer delta;
    private final Path root;
    private final Options options;
    private final Scratch scratch;
    private final List<TreeEntry> base;
    private List<TreeEntry> targets;
    final AtomicInteger linked = new AtomicInteger();
    final AtomicInteger copied = new AtomicInteger();
    final AtomicInteger produced = new AtomicInteger();
    final AtomicLong producedBytes = new AtomicLong();

    Work(Payload old, ByteBuffer delta, Path root, Options options, Scratch scratch) {
      this.old = old;
      this.delta = delta;
      this.root = root;
      this.options = options;
      this.scratch = scratch;
      this.base = old.tree().entries();
    }

    void run(DeltaIndex.Plan plan) throws IOException {
      targets = plan.target().entries();
      List<DeltaIndex.Op> direct = new ArrayList<>();
      List<DeltaIndex.Op> repeats = new ArrayList<>();
      List<List<DeltaIndex.Op>> members = new ArrayList<>();
      for (int g = 0; g < plan.groups().size(); g++) {
        members.add(new ArrayList<>());
      }
      for (DeltaIndex.Op op : plan.ops()) {
        TreeEntry e = op.entry();
        Path at = root.resolve(e.path());
        if (e.type() == TreeEntry.EntryType.DIRECTORY) {
          Files.createDirectories(at);
          continue;
        }
        Files.createDirectories(at.getParent());
        if (e.type() != TreeEntry.EntryType.FILE) {
          continue;
        }
        if (op.group() >= 0) {
          members.get(op.group()).add(op);
        } else if (op.kind() == DeltaFormat.SAME) {
          repeats.add(op);
        } else {
          direct.add(op);
        }
      }
      int total = direct.size() + repeats.size() + members.stream().mapToInt(List::size).sum();
      AtomicInteger done = new AtomicInteger();
      Parallel.Task<DeltaIndex.Op, Void> produceOne = op -> {
        produce(op);
        options.listener().accept(new DeltaEvent(DeltaEvent.Stage.APPLY, op.entry().path(), done.incrementAndGet(),
            total));
        return null;
      };
      direct.sort(Comparator.comparingLong((DeltaIndex.Op op) -> -op.entry().size()));
      Parallel.map(direct, options.threads(), produceOne);
      // One group at a time, so memory holds at most one group's streams.
      for (int g = 0; g < members.size(); g++) {
        List<DeltaIndex.Op> group = members.get(g);
        decodeGroup(plan.groups().get(g), group);
        group.sort(Comparator.comparingLong((DeltaIndex.Op op) -> -op.entry().size()));
        Parallel.map(group, options.threads(), produceOne);
        meta = null;
        content = null;
      }
      Parallel.map(repeats, options.threads(), produceOne);
      // Links last: no file above was written through one.
      for (DeltaIndex.Op op : plan.ops()) {
        if (op.entry().type() == TreeEntry.EntryType.SYMLINK) {
          Files.createSymbolicLink(root.resolve(op.entry().path()), Path.of(op.entry().target()));
        }
      }
    }

    private ByteBuffer meta;
    private ByteBuffer content;

    /**
     * Builds a group's references from its members' old files and decodes its two streams, all in
     * scratch buffers: the heap holds none of them whole.
     */
    private void decodeGroup(DeltaIndex.Group group, List<DeltaIndex.Op> members) throws IOException {
      BoundedOutput metaReference = scratch.buffer(DeltaFormat.MAX_META);
      BoundedOutput contentReference = scratch.buffer(DeltaFormat.MAX_CONTENT);
      for (DeltaIndex.Op op : members) {
        if (op.kind() == DeltaFormat.ZIP) {
          ZipReferences.collect(op.program(), mapOld(op.source()), metaReference, contentReference, scratch);
        } else if (op.source() >= 0) {
          contentReference.write(mapOld(op.source()));
        }
      }
      ByteBuffer metaBase = metaReference.toBuffer();
      ByteBuffer contentBase = contentReference.toBuffer();
      List<ByteBuffer> streams = Parallel.map(List.of(true, false), options.threads(), isMeta -> isMeta
          ? Units.decode(group.meta(), metaBase, delta, scratch)
          : Units.decode(group.content(), contentBase, delta, scratch));
      meta = streams.get(0);
      content = streams.get(1);
    }

    private void produce(DeltaIndex.Op op) throws IOException {
      TreeEntry e = op.entry();
      Path target = root.resolve(e.path());
      switch (op.kind()) {
        case DeltaFormat.KEEP, DeltaFormat.COPY, DeltaFormat.SAME -> {
          boolean sameAs = op.kind() == DeltaFormat.SAME;
          Path from = sameAs ? root.resolve(targets.get(op.source()).path()) : old.file(base.get(op.source()).path());
          boolean executable = sameAs ? targets.get(op.source()).executable() : base.get(op.source()).executable();
          if (executable == e.executable() && tryLink(target, from)) {
            linked.incrementAndGet();
            return;
          }
          // Read, not mapped: a copied file is read once, and a map's pages would stay in the
          // process until it is collected.
          try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
              HashingFile file = HashingFile.create(target, e.size())) {
            byte[] buffer = new byte[(int) Math.min(Math.max(e.size(), 1), 1 << 20)];
            ByteBuffer b = ByteBuffer.wrap(buffer);
            for (int n; (n = in.read(b.clear())) > 0; ) {
              file.out.write(buffer, 0, n);
            }
            file.finish(e);
          }
          copied.incrementAndGet();
        }
        case DeltaFormat.PATCH -> {
          ByteBuffer source = op.source() >= 0 ? mapOld(op.source()) : null;
          try (HashingFile file = HashingFile.create(target, e.size())) {
            if (op.method() != null) {
              Units.decode(op.method(), e.size(), op.offset(), op.length(), source, delta, file.out);
            }
            file.finish(e);
          }
          produced.incrementAndGet();
          producedBytes.addAndGet(e.size());
        }
        case DeltaFormat.SOLID -> {
          try (HashingFile file = HashingFile.create(target, e.size())) {
            file.out.write(content.slice((int) op.contentAt(), (int) e.size()));
            file.finish(e);
          }
          produced.incrementAndGet();
          producedBytes.addAndGet(e.size());
        }
        case DeltaFormat.ZIP -> {
          ByteBuffer source = mapOld(op.source());
          try (HashingFile file = HashingFile.create(target, e.size())) {
            ZipPatcher.apply(op.program(), source,
                new StreamCursor(meta, (int) op.metaAt(), (int) (op.metaAt() + op.program().totalMeta())),
                new StreamCursor(content, (int) op.contentAt(), (int) (op.contentAt() + op.program().totalContent())),
                file.out, (unit, reference) -> Units.decode(unit, reference, delta, scratch, DeltaFormat.MAX_OWN_ENTRY),
                scratch);
            file.finish(e);
          }
          produced.incrementAndGet();
          producedBytes.addAndGet(e.size());
        }
        default -> throw new IllegalStateException("kind " + op.kind());
      }
      Files.setPosixFilePermissions(target, e.executable() ? EXECUTABLE : REGULAR);
    }

    private ByteBuffer mapOld(int index) throws IOException {
      TreeEntry source = base.get(index);
      if (source.size() > Integer.MAX_VALUE) {
        throw ByteReader.malformed("'" + source.path() + "' is too large to patch against");
      }
      try (FileChannel ch = FileChannel.open(old.file(source.path()), StandardOpenOption.READ,
          LinkOption.NOFOLLOW_LINKS)) {
        if (ch.size() != source.size()) {
          throw new UpgradeException(ErrorCode.HASH_MISMATCH, "'" + source.path() + "' changed while applying");
        }
        return ch.map(FileChannel.MapMode.READ_ONLY, 0, source.size());
      }
    }

    private static boolean tryLink(Path link, Path existing) {
      try {
        Files.createLink(link, existing);
        return true;
      } catch (FileSystemException | UnsupportedOperationException e) {
        return false; // another file system, or no hard links here: copy instead
      } catch (IOException e) {
        return false;
      }
    }
  }

  private static final Set<PosixFilePermission> EXECUTABLE = PosixFilePermissions.fromString("rwxr-xr-x");
  private static final Set<PosixFilePermission> REGULAR = PosixFilePermissions.fromString("rw-r--r--");

  /** A new file whose bytes are counted, hashed and capped at the expected size as they are written. */
  private static final class HashingFile implements AutoCloseable {
    final BoundedOutput out;
    private final OutputStream stream;
    private final MessageDigest digest = Hashes.newSha256();

    private HashingFile(Path path, long size) throws IOException {
      OutputStream file = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      this.stream = new BufferedOutputStream(new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          digest.update((byte) b);
          file.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          digest.update(b, off, len);
          file.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          file.close();
        }
      }, 1 << 16);
      this.out = new BoundedOutput(stream, size);
    }

    static HashingFile create(Path path, long size) throws IOException {
      return new HashingFile(path, size);
    }

    void finish(TreeEntry e) throws IOException {
      stream.flush();
      if (out.position() != e.size()) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH,
            "'" + e.path() + "' came out " + out.position() + " bytes long, expected " + e.size());
      }
      String sha = Hashes.hex(digest.digest());
      if (!sha.equals(e.sha256())) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH,
            "'" + e.path() + "' came out with SHA-256 " + sha + ", expected " + e.sha256());
      }
    }

    @Override
    public void close() throws IOException {
      stream.close();
    }
  }

  /**
   * Parses the index as its frame decodes, straight from the mapped delta: neither the compressed
   * nor the decompressed index is copied onto the heap, so the header's lengths size nothing.
   */
  private static DeltaIndex.Plan readIndex(ByteBuffer delta, DeltaHeader header, PayloadTree base) {
    ByteBuffer frame = delta.slice(header.indexOffset(), header.indexCompressedLength());
    try (FrameInput index = FrameInput.open(frame, header.indexLength(), DeltaFormat.indexDictionary(base),
        "the delta's index")) {
      DeltaIndex.Plan plan = DeltaIndex.parse(new ByteReader(index), base,
          new DataCursor(header.dataOffset(), delta.limit()), header.version());
      index.finish();
      return plan;
    }
  }

  private static ByteBuffer map(FileChannel ch, Path delta) throws IOException {
    long size = ch.size();
    if (size > DeltaFormat.MAX_DELTA_SIZE) {
      throw ByteReader.malformed(delta + " is " + size + " bytes, larger than any delta");
    }
    MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
    return map;
  }

  private static void requireAbsent(Path out) {
    if (Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
      throw new UpgradeException(ErrorCode.IO_ERROR, out + " already exists; apply writes a new directory or file");
    }
  }

  private static boolean isArchiveName(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return name.endsWith(".zip") || name.endsWith(".tar") || name.endsWith(".tar.gz") || name.endsWith(".tgz");
  }
}
