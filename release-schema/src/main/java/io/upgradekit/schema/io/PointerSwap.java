package io.upgradekit.schema.io;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Replaces a mutable document (a channel pointer, {@code root.json}) by compare-and-swap on its
 * sequence, among any number of publishers in any number of processes sharing its directory: the
 * compare-and-swap of the directory store ({@code io.upgradekit.schema.store.DirectoryStore}).
 * The plugin's directory mode and repo-server's publish API both write through that store, and
 * earlier releases of the plugin followed the same protocol, so they may all publish into one
 * directory; a publisher that dies half-way blocks nobody for longer than a lease, and one that
 * was only slow can never overwrite what the next publisher wrote.
 *
 * <p>For sequence {@code n} of {@code dir/<name>}:
 *
 * <ol>
 *   <li><b>Claim</b>: create {@code dir/.<name without .json>.sequence/<n>} (attempt 1) or {@code
 *       <n>.<k>} (attempt {@code k}, the fencing number; {@link RepositoryLayout#sequenceClaim})
 *       exclusively ({@link DurableFiles#createExclusively}), holding a {@link SequenceClaim}:
 *       which process (pid, host, boot id, start time, user), since when, until when its lease
 *       runs, and what it replaces.
 *   <li>If that attempt is taken, the publisher looks at the newest attempt: if the document
 *       changed meanwhile, it stops ({@link Outcome#CHANGED}: read it again and retry on it). If
 *       the holder is alive and its lease runs, it waits (bounded), saying who holds the claim,
 *       since when and until when. If the holder is gone (its process no longer exists on this
 *       machine), its lease expired, or it released the claim, the publisher claims the next
 *       attempt: this <em>fences</em> the previous holder.
 *   <li><b>Swap</b>: holding attempt {@code k}, the publisher takes the OS lock on {@code
 *       dir/.<name>.lock} ({@link RepositoryLayout#swapLock}; and a lock per JVM, since OS locks
 *       are per process), bounded; under it, if attempt {@code k+1} exists it was presumed dead
 *       and writes nothing ({@link Outcome#SUPERSEDED}); otherwise the caller's {@link Check}
 *       compares the current document with what it expects, and only then is the new one renamed
 *       into place ({@link DurableFiles#writeAtomically}), or, where there was none, linked into
 *       place ({@link DurableFiles#createExclusively}: a creator that takes no lock may have been
 *       first, and is never replaced). A holder that gives up without writing releases its claim
 *       (a released attempt {@code k+1}), so that nobody waits for it.
 * </ol>
 *
 * <p>Why it is safe: the document only changes under the OS lock, after the caller compared it
 * with what it read, so it moves from one version to the next at most once for any sequence,
 * whoever writes; a holder that was paused past its lease (a stopped JVM, a long GC) finds its
 * attempt superseded, or the document changed, when it gets the lock, and writes nothing. The
 * lease and the liveness check only decide how long others wait. An OS lock dies with its
 * process (also on {@code kill -9}); a process that is stopped while holding it blocks the
 * others until {@code maxWait}, after which they fail with a message that says how to find it.
 *
 * <p>Claim files stay behind as a record of who published which sequence. Claims written by
 * earlier releases of the plugin hold the pointer itself instead of a {@link SequenceClaim}; they
 * count as held by an unknown process since the file's modification time.
 *
 * <p>Thread-safe; one instance per document.
 */
public final class PointerSwap {
  /** How long a claim keeps others waiting, unless its holder is seen to be gone. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(15);

  /** How long a publisher waits, in all, for other claims and the OS lock before it fails. */
  public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(60);

  /** The {@code type} of a claim document. */
  public static final String CLAIM_TYPE = "sequence-claim";

  private static final long POLL_MILLIS = 50;

  /** A claim document is well under 1 KiB; anything larger is not one (an old pointer copy). */
  private static final int MAX_CLAIM_BYTES = 16 * 1024;

  /** OS file locks are per process: threads of one JVM queue here first. */
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  /** How a swap ended. */
  public enum Outcome {
    /** The new document is in place. */
    SWAPPED,
    /** The document is no longer what the caller expected: read it again and retry on it. */
    CHANGED,
    /**
     * This publisher was presumed dead (its lease expired) and another took its sequence over;
     * nothing was written. Read the document again and retry on it.
     */
    SUPERSEDED
  }

  /** Decides, given the document's current bytes, whether the swap may go ahead. */
  @FunctionalInterface
  public interface Check {
    /**
     * @param current the document's current bytes, or null if there is none
     * @return true if it is still what the caller expects; false if it changed (the swap then
     *     ends with {@link Outcome#CHANGED})
     * @throws UpgradeException to refuse the swap outright (the claim is released)
     */
    boolean stillExpected(byte[] current) throws IOException;
  }

  /**
   * A process, as far as another process can recognise it.
   *
   * @param pid its process id
   * @param host its host name (for people)
   * @param boot the kernel's boot id on Linux ({@code /proc/sys/kernel/random/boot_id}), or null:
   *     two processes with the same boot id run on the same machine since the same boot
   * @param started when the process started (a reused pid has another), or null
   * @param user the user it runs as, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Holder(long pid, String host, String boot, Instant started, String user) {
    public Holder {
      Objects.requireNonNull(host, "host");
    }

    /** This process. */
    public static Holder current() {
      return CURRENT;
    }

    private static final Holder CURRENT = describeCurrent();

    private static Holder describeCurrent() {
      ProcessHandle self = ProcessHandle.current();
      ProcessHandle.Info info = self.info();
      return new Holder(self.pid(), hostName(), bootId(), info.startInstant().map(PointerSwap::millis).orElse(null),
          info.user().orElse(null));
    }

    /**
     * True only if this process can tell for sure that the holder no longer runs: it ran on this
     * machine (same boot id, or same host name where there is none) and no process with its pid
     * and start time exists. In another pid namespace (a container sharing the kernel) a live
     * holder may look gone; that only shortens the wait, the fencing keeps the swap safe.
     */
    @JsonIgnore
    public boolean isGone() {
      Holder self = CURRENT;
      boolean sameMachine = boot != null && self.boot != null ? boot.equals(self.boot)
          : boot == null && self.boot == null && host.equals(self.host);
      if (!sameMachine) {
        return false;
      }
      Optional<ProcessHandle> process = ProcessHandle.of(pid);
      if (process.isEmpty() || !process.get().isAlive()) {
        return true;
      }
      Optional<Instant> start = process.get().info().startInstant();
      return started != null && start.isPresent() && !millis(start.get()).equals(started);
    }

    @Override
    public String toString() {
      return "pid " + pid + " on " + host + (user == null ? "" : " (user " + user + ")");
    }
  }

  /**
   * The content of a claim file.
   *
   * @param type always {@value #CLAIM_TYPE}
   * @param sequence the sequence claimed
   * @param attempt the fencing number: 1 for the first claim of the sequence, one more for each
   *     claim that took over from a holder presumed dead or that released it
   * @param holder who claimed
   * @param claimedAt when
   * @param expires until when the claim keeps others waiting (its lease)
   * @param replaces what the holder expects to replace (a version tag of the current document,
   *     or {@code none}), for people
   * @param released true for a claim written by a holder that gave up without writing: the next
   *     attempt may be taken at once
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SequenceClaim(String type, long sequence, int attempt, Holder holder, Instant claimedAt,
      Instant expires, String replaces, boolean released) {
    public SequenceClaim {
      if (!CLAIM_TYPE.equals(type)) {
        throw new IllegalArgumentException("type must be " + CLAIM_TYPE);
      }
      Objects.requireNonNull(holder, "holder");
      Objects.requireNonNull(claimedAt, "claimedAt");
      Objects.requireNonNull(expires, "expires");
      if (attempt < 1) {
        throw new IllegalArgumentException("attempt must be 1 or more");
      }
    }
  }

  /** A claim as found on disk: its attempt, and its content if it could be read. */
  private record Found(int attempt, Path file, SequenceClaim claim, Instant expires) {
    String describe() {
      return claim == null ? "an unknown process (a claim file without holder, " + file.getFileName() + ")"
          : claim.holder().toString();
    }

    Instant since(Duration lease) {
      return claim == null ? expires.minus(lease) : claim.claimedAt();
    }
  }

  private final Path document;
  private final int maxBytes;
  private final Path claims;
  private final Path lockFile;
  private final Duration lease;
  private final Duration maxWait;
  private final Clock clock;
  private final Consumer<String> progress;

  /**
   * @param document the document to replace, e.g. {@code apps/<app>/channels/<channel>.json}; its
   *     directory must exist
   * @param maxBytes the document's size cap: a larger current document is refused
   *     (METADATA_TOO_LARGE) rather than read
   * @param lease how long this publisher's claims keep others waiting ({@link #DEFAULT_LEASE})
   * @param maxWait how long to wait in all for other publishers ({@link #DEFAULT_MAX_WAIT})
   * @param clock the wall clock claims are stamped and judged with
   * @param progress told (once per claim) when this publisher waits for another, and why
   */
  public PointerSwap(Path document, int maxBytes, Duration lease, Duration maxWait, Clock clock,
      Consumer<String> progress) {
    this.document = document.toAbsolutePath().normalize();
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
    }
    this.maxBytes = maxBytes;
    String name = this.document.getFileName().toString();
    this.claims = this.document.resolveSibling(RepositoryLayout.sequenceClaims(name));
    this.lockFile = this.document.resolveSibling(RepositoryLayout.swapLock(name));
    this.lease = requirePositive(lease, "lease");
    this.maxWait = requirePositive(maxWait, "maxWait");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.progress = Objects.requireNonNull(progress, "progress");
  }

  /** The directory that holds the sequence claims. */
  public Path claimDirectory() {
    return claims;
  }

  /** The file whose OS lock every writer of the document holds while it compares and writes. */
  public Path lockFile() {
    return lockFile;
  }

  /**
   * Claims {@code sequence}, then compares and writes: see the class comment.
   *
   * @param sequence the new document's sequence
   * @param content the new document
   * @param replaces what the caller expects to replace (a version tag, or {@code none}), for the
   *     claim record
   * @param check compares the current document with what the caller expects; it is asked while
   *     waiting for another claim, and once more under the lock before writing
   * @throws UpgradeException IO_ERROR if other publishers kept the claim or the lock for longer
   *     than {@code maxWait} (the message names them), or whatever {@code check} throws
   */
  public Outcome swap(long sequence, byte[] content, String replaces, Check check) throws IOException {
    Objects.requireNonNull(content, "content");
    long deadline = System.nanoTime() + maxWait.toNanos();
    Optional<Held> held = claim(sequence, replaces, check, deadline);
    if (held.isEmpty()) {
      return Outcome.CHANGED;
    }
    return held.get().write(content, check, deadline);
  }

  /**
   * Step 1 alone: claims {@code sequence}, waiting (bounded) for other holders. Public so that
   * tests can stop a publisher between its claim and its write; publishers call {@link #swap}.
   *
   * @return the claim, or empty if {@code check} says the document changed meanwhile
   */
  public Optional<Held> claim(long sequence, String replaces, Check check, long deadlineNanos) throws IOException {
    if (sequence < 0) {
      throw new IllegalArgumentException("sequence must not be negative: " + sequence);
    }
    DurableFiles.createDirectories(claims);
    int attempt = 1;
    Found waitedFor = null;
    while (true) {
      Instant now = clock.instant();
      SequenceClaim mine = new SequenceClaim(CLAIM_TYPE, sequence, attempt, Holder.current(), millis(now),
          millis(now.plus(lease)), replaces == null ? "none" : replaces, false);
      Path file = claimFile(sequence, attempt);
      if (DurableFiles.createExclusively(file, Json.canonicalBytes(mine))) {
        return Optional.of(new Held(mine, file));
      }
      Found top = newest(sequence, attempt);
      if (!check.stillExpected(readDocument())) {
        return Optional.empty();
      }
      boolean free = top.claim() != null && (top.claim().released() || top.claim().holder().isGone());
      if (free || !clock.instant().isBefore(top.expires())) {
        attempt = top.attempt() + 1;
        continue;
      }
      if (waitedFor == null || waitedFor.attempt() != top.attempt()) {
        waitedFor = top;
        progress.accept("sequence " + sequence + " of " + document + " is claimed by " + top.describe() + " since "
            + top.since(lease) + "; waiting until it is published or the claim expires at " + top.expires());
      }
      if (System.nanoTime() - deadlineNanos > 0) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "sequence " + sequence + " of " + document
            + " is still claimed by " + top.describe() + " (" + top.file() + ", since " + top.since(lease)
            + ", until " + top.expires() + "), and the document has not changed for " + maxWait.toSeconds()
            + " s. Another publish of this channel is running or stuck: let it finish; a claim whose process is"
            + " gone expires by itself at " + top.expires() + ", then run the release again");
      }
      pause();
    }
  }

  /** A claim this publisher holds, between step 1 and the write. */
  public final class Held {
    private final SequenceClaim claim;
    private final Path file;

    private Held(SequenceClaim claim, Path file) {
      this.claim = claim;
      this.file = file;
    }

    /** The claim as written. */
    public SequenceClaim claim() {
      return claim;
    }

    /**
     * Step 3: under the locks, checks the fence and the document, then writes.
     *
     * @param deadlineNanos {@link System#nanoTime()} after which waiting for the lock fails
     */
    public Outcome write(byte[] content, Check check, long deadlineNanos) throws IOException {
      Outcome outcome = null;
      try (Locked ignored = lock(deadlineNanos)) {
        if (Files.exists(claimFile(claim.sequence(), claim.attempt() + 1))) {
          return outcome = Outcome.SUPERSEDED; // presumed dead and taken over: the fence holds
        }
        byte[] current = readDocument();
        if (!check.stillExpected(current)) {
          return outcome = Outcome.CHANGED;
        }
        if (current == null) {
          // A first document is linked, not renamed: a creator that does not take this lock
          // (DurableFiles.createExclusively) may have made it meanwhile, and must not be replaced.
          return outcome = DurableFiles.createExclusively(document, content) ? Outcome.SWAPPED : Outcome.CHANGED;
        }
        DurableFiles.writeAtomically(document, content);
        return outcome = Outcome.SWAPPED;
      } finally {
        if (outcome != Outcome.SWAPPED && outcome != Outcome.SUPERSEDED) {
          release();
        }
      }
    }

    /** Tells waiters that this claim will not be used, so they need not wait for its lease. */
    private void release() {
      Instant now = clock.instant();
      SequenceClaim released = new SequenceClaim(CLAIM_TYPE, claim.sequence(), claim.attempt() + 1,
          Holder.current(), millis(now), millis(now), claim.replaces(), true);
      try {
        DurableFiles.createExclusively(claimFile(claim.sequence(), claim.attempt() + 1),
            Json.canonicalBytes(released));
      } catch (IOException | RuntimeException e) {
        // Only a courtesy: without it, waiters wait for the lease.
      }
    }

    @Override
    public String toString() {
      return "claim " + file;
    }
  }

  private Path claimFile(long sequence, int attempt) {
    return document.resolveSibling(RepositoryLayout.sequenceClaim(document.getFileName().toString(), sequence,
        attempt));
  }

  /** The newest attempt of {@code sequence}, looking upward from one that exists. */
  private Found newest(long sequence, int from) throws IOException {
    int attempt = from;
    while (Files.exists(claimFile(sequence, attempt + 1))) {
      attempt++;
    }
    Path file = claimFile(sequence, attempt);
    try {
      byte[] bytes = Files.size(file) > MAX_CLAIM_BYTES ? null : Files.readAllBytes(file);
      SequenceClaim claim = bytes == null ? null : Json.read(bytes, SequenceClaim.class, "sequence claim");
      if (claim != null && claim.sequence() == sequence && claim.attempt() == attempt) {
        return new Found(attempt, file, claim, claim.expires());
      }
    } catch (UpgradeException e) {
      // Not a claim document: an earlier plugin's claim (the pointer itself), or damaged.
    } catch (NoSuchFileException e) {
      return new Found(attempt, file, null, Instant.EPOCH); // deleted by hand: free
    }
    Instant modified;
    try {
      modified = Files.getLastModifiedTime(file).toInstant();
    } catch (NoSuchFileException e) {
      modified = Instant.EPOCH;
    }
    return new Found(attempt, file, null, modified.plus(lease));
  }

  /** The document's current bytes, or null if there is none; never more than {@code maxBytes}. */
  public byte[] readDocument() throws IOException {
    try (FileChannel channel = FileChannel.open(document, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size > maxBytes) {
        throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, document + " is " + size + " bytes, more than the "
            + maxBytes + "-byte limit for it; replace it with a valid document");
      }
      ByteBuffer buffer = ByteBuffer.allocate((int) size + 1);
      while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
        // read to the end, or one byte past the size seen: the file grew meanwhile
      }
      if (buffer.position() > size) {
        throw new UpgradeException(ErrorCode.IO_ERROR, document + " changed while it was read; retry");
      }
      return java.util.Arrays.copyOf(buffer.array(), buffer.position());
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private interface Locked extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /** Takes this JVM's lock, then the OS lock, both bounded by the deadline. */
  private Locked lock(long deadlineNanos) throws IOException {
    ReentrantLock inJvm = JVM_LOCKS.computeIfAbsent(lockFile, p -> new ReentrantLock());
    try {
      if (!inJvm.tryLock(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        throw lockTimeout("another thread of this process");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.IO_ERROR, "interrupted while waiting for " + lockFile, e);
    }
    FileChannel channel = null;
    try {
      channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      while (true) {
        try {
          lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
          lock = null; // this JVM holds it under another path to the same file
        }
        if (lock != null) {
          break;
        }
        if (System.nanoTime() - deadlineNanos > 0) {
          throw lockTimeout("another process");
        }
        pause();
      }
      FileLock held = lock;
      FileChannel open = channel;
      return () -> {
        try (open) {
          held.release();
        } finally {
          inJvm.unlock();
        }
      };
    } catch (IOException | RuntimeException e) {
      try {
        if (channel != null) {
          channel.close();
        }
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      inJvm.unlock();
      throw e;
    }
  }

  private UpgradeException lockTimeout(String who) {
    return new UpgradeException(ErrorCode.IO_ERROR, lockFile + " has been locked by " + who + " for more than "
        + maxWait.toSeconds() + " s: a repo-server or 'mvn upgrade:release' publishing into this directory is"
        + " stopped (SIGSTOP, a debugger) or hangs on I/O. Find it with 'fuser -v " + lockFile + "' (or 'lsof "
        + lockFile + "'), let it continue or stop it, then run the release again");
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.IO_ERROR, "interrupted while waiting for another publisher", e);
    }
  }

  private static Instant millis(Instant instant) {
    return instant.truncatedTo(ChronoUnit.MILLIS);
  }

  private static Duration requirePositive(Duration duration, String name) {
    if (Objects.requireNonNull(duration, name).isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + duration);
    }
    return duration;
  }

  private static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env.strip();
    }
    String proc = readSmall(Path.of("/proc/sys/kernel/hostname"));
    return proc == null ? "unknown-host" : proc;
  }

  private static String bootId() {
    return readSmall(Path.of("/proc/sys/kernel/random/boot_id"));
  }

  private static String readSmall(Path file) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      String text = new String(bytes, 0, Math.min(bytes.length, 256), StandardCharsets.US_ASCII).strip();
      return text.isEmpty() ? null : text;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
