package io.upgradekit.schema.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link RepositoryStore} must do, whatever holds the data: run these tests against an
 * implementation by extending this class. Races run among threads (each with its own store
 * instance) and among real processes ({@link StoreRaceWorker}), and must have exactly one winner
 * per round.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class RepositoryStoreContract {
  private static final String DOC = "apps/demo/channels/stable.json";

  @TempDir Path work;
  private final List<Process> workers = new ArrayList<>();

  /** The store under test, empty at the start of each test; the same instance within a test. */
  protected abstract RepositoryStore store() throws IOException;

  /** The class that opens the store under test from {@link #address()}, in any process. */
  protected abstract Class<? extends StoreOpener> opener();

  /** Where the store under test is, for {@link #opener()}. */
  protected abstract String address();

  /**
   * Whether the store under test holds {@code compareAndSwap} under concurrency: of many writers
   * that expect one tag, exactly one wins. A directory does, and so do stores that evaluate
   * {@code If-Match} atomically with the write (AWS S3, Ceph RGW). A server that only emulates
   * {@code If-Match} by reading, then writing (s3proxy) loses updates under races: a test against
   * it answers false, and the swap races are reported as not run for it, with the reason, rather
   * than pretending to pass (the store must then be checked against a server that holds it).
   */
  protected boolean holdsCompareAndSwapUnderConcurrency() {
    return true;
  }

  private void assumeSwapsAreHeld() throws IOException {
    String location = store().location();
    assumeTrue(holdsCompareAndSwapUnderConcurrency(), () -> "the server behind " + location
        + " only emulates If-Match (read, then write) and loses updates under races: this race proves nothing"
        + " against it; run it against a server that holds If-Match (bench/s3-rgw.sh, see docs/object-storage.md)");
  }

  /** Another instance on the same storage, as another process would open it. */
  protected RepositoryStore another() throws Exception {
    return opener().getConstructor().newInstance().open(address());
  }

  @AfterEach
  void killWorkers() {
    for (Process worker : workers) {
      worker.descendants().forEach(ProcessHandle::destroyForcibly);
      worker.destroyForcibly();
    }
  }

  protected static byte[] bytes(String text) {
    return text.getBytes(UTF_8);
  }

  protected static void assertCode(ThrowingCallable call, ErrorCode code) {
    assertThatThrownBy(call).isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(code));
  }

  protected List<String> list(String prefix) throws IOException {
    try (Stream<RepositoryStore.Entry> entries = store().list(prefix)) {
      return entries.map(RepositoryStore.Entry::path).sorted().toList();
    }
  }

  @Test
  void nothingIsFoundInAnEmptyStore() throws IOException {
    assertThat(store().read(DOC, 1024)).isEmpty();
    assertThat(store().stat(DOC)).isEmpty();
    assertThat(store().open(DOC)).isEmpty();
    assertThat(list("")).isEmpty();
    assertThat(list("apps/")).isEmpty();
    assertThat(store().delete(DOC)).isFalse();
  }

  @Test
  void createIfAbsentHasOneWinnerAndNeverReplaces() throws IOException {
    RepositoryStore.Write first = store().create(DOC, bytes("first"));
    assertThat(first.status()).isEqualTo(RepositoryStore.Status.WRITTEN);
    RepositoryStore.Versioned read = store().read(DOC, 1024).orElseThrow();
    assertThat(read.bytes()).isEqualTo(bytes("first"));
    assertThat(read.tag()).isEqualTo(first.tag());
    assertThat(store().stat(DOC)).hasValue(new RepositoryStore.Entry(DOC, 5));

    assertThat(store().create(DOC, bytes("second")).status()).isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().read(DOC, 1024).orElseThrow().bytes()).isEqualTo(bytes("first"));

    RepositoryStore.Created again = store().createOrRead(DOC, bytes("third"), 1024);
    assertThat(again.created()).isFalse();
    assertThat(again.stored()).isEqualTo(bytes("first"));
    RepositoryStore.Created fresh = store().createOrRead("apps/demo/other.json", bytes("mine"), 1024);
    assertThat(fresh.created()).isTrue();
    assertThat(fresh.stored()).isEqualTo(bytes("mine"));
  }

  @Test
  void compareAndSwapReplacesOnlyTheExpectedVersion() throws IOException {
    RepositoryStore.Write created = store().compareAndSwap(DOC, null, 1, bytes("v1"));
    assertThat(created.written()).isTrue();
    assertThat(store().compareAndSwap(DOC, null, 1, bytes("v1 again")).status())
        .as("expected none, but there is one").isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().compareAndSwap(DOC, "not-a-tag-of-this-store", 2, bytes("v2?")).status())
        .isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().read(DOC, 1024).orElseThrow().bytes()).isEqualTo(bytes("v1"));

    RepositoryStore.Write swapped = store().compareAndSwap(DOC, created.tag(), 2, bytes("v2"));
    assertThat(swapped.written()).isTrue();
    assertThat(swapped.tag()).isNotEqualTo(created.tag());
    RepositoryStore.Versioned now = store().read(DOC, 1024).orElseThrow();
    assertThat(now.bytes()).isEqualTo(bytes("v2"));
    assertThat(now.tag()).isEqualTo(swapped.tag());
    assertThat(store().compareAndSwap(DOC, created.tag(), 3, bytes("v3 on v1")).status())
        .as("a swap on a version that is gone").isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().read(DOC, 1024).orElseThrow().bytes()).isEqualTo(bytes("v2"));
  }

  @Test
  void aDocumentCreatedOnceCanBeSwappedAndNotCreatedBySwapAgain() throws IOException {
    RepositoryStore.Write created = store().create(DOC, bytes("v1"));
    assertThat(store().compareAndSwap(DOC, null, 1, bytes("other v1")).status())
        .isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().compareAndSwap(DOC, created.tag(), 2, bytes("v2")).written()).isTrue();
    assertThat(store().read(DOC, 1024).orElseThrow().bytes()).isEqualTo(bytes("v2"));
  }

  @Test
  void readsAreBoundedByTheCallersLimit() throws IOException {
    byte[] content = new byte[4096];
    new Random(1).nextBytes(content);
    store().create(DOC, content);

    assertThat(store().read(DOC, 4096).orElseThrow().bytes()).isEqualTo(content);
    assertCode(() -> store().read(DOC, 4095), ErrorCode.METADATA_TOO_LARGE);
    assertCode(() -> store().read(DOC, 0), ErrorCode.METADATA_TOO_LARGE);
  }

  @Test
  void aBlobIsStoredOnlyUnderItsHashAndOnce() throws IOException {
    byte[] blob = new byte[200_000];
    new Random(2).nextBytes(blob);
    String sha = Hashes.sha256(blob);

    assertThat(store().putBlob(sha, blob.length, new ByteArrayInputStream(blob))).isTrue();
    assertThat(store().stat(RepositoryLayout.blob(sha))).hasValue(new RepositoryStore.Entry(RepositoryLayout.blob(sha),
        blob.length));
    try (InputStream in = store().open(RepositoryLayout.blob(sha)).orElseThrow()) {
      assertThat(in.readAllBytes()).isEqualTo(blob);
    }
    assertThat(store().putBlob(sha, blob.length, new ByteArrayInputStream(blob))).isFalse();
    assertThat(store().putBlob(sha, RepositoryStore.UNKNOWN_SIZE, new ByteArrayInputStream(blob))).isFalse();

    byte[] other = bytes("unknown size, right hash");
    assertThat(store().putBlob(Hashes.sha256(other), RepositoryStore.UNKNOWN_SIZE, new ByteArrayInputStream(other)))
        .isTrue();
    assertThat(list("blobs/")).containsExactlyInAnyOrder(RepositoryLayout.blob(sha),
        RepositoryLayout.blob(Hashes.sha256(other)));
  }

  @Test
  void aBlobOpensFromAnOffset() throws IOException {
    byte[] blob = new byte[70_000];
    new Random(3).nextBytes(blob);
    String sha = Hashes.sha256(blob);
    store().putBlob(sha, blob.length, new ByteArrayInputStream(blob));

    try (InputStream in = store().open(RepositoryLayout.blob(sha), 65_536).orElseThrow()) {
      assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(blob, 65_536, blob.length));
    }
    try (InputStream in = store().open(RepositoryLayout.blob(sha), 0).orElseThrow()) {
      assertThat(in.readAllBytes()).isEqualTo(blob);
    }
    assertThat(store().open(RepositoryLayout.blob("0".repeat(64)), 10)).isEmpty();
  }

  @Test
  void aBlobThatDoesNotMatchItsHashOrSizeStoresNothing() throws IOException {
    byte[] blob = bytes("the real content");
    String sha = Hashes.sha256(blob);
    byte[] forged = bytes("other content....");

    assertCode(() -> store().putBlob(sha, forged.length, new ByteArrayInputStream(forged)), ErrorCode.HASH_MISMATCH);
    assertCode(() -> store().putBlob(sha, RepositoryStore.UNKNOWN_SIZE, new ByteArrayInputStream(forged)),
        ErrorCode.HASH_MISMATCH);
    assertCode(() -> store().putBlob(sha, blob.length - 1, new ByteArrayInputStream(blob)), ErrorCode.HASH_MISMATCH);
    assertCode(() -> store().putBlob(sha, blob.length + 1, new ByteArrayInputStream(blob)), ErrorCode.HASH_MISMATCH);
    assertThat(store().stat(RepositoryLayout.blob(sha))).isEmpty();
    assertThat(list("")).isEmpty();

    store().putBlob(sha, blob.length, new ByteArrayInputStream(blob));
    assertCode(() -> store().putBlob(sha, RepositoryStore.UNKNOWN_SIZE, new ByteArrayInputStream(forged)),
        ErrorCode.HASH_MISMATCH);
    try (InputStream in = store().open(RepositoryLayout.blob(sha)).orElseThrow()) {
      assertThat(in.readAllBytes()).as("the stored blob is untouched").isEqualTo(blob);
    }
    assertCode(() -> store().putBlob("NOT-A-HASH", 1, new ByteArrayInputStream(new byte[1])), ErrorCode.NAME_INVALID);
  }

  @Test
  void aBlobStreamLongerThanItsSizeIsCutOffAfterOneByte() throws IOException {
    long size = 1000;
    CountingEndlessStream endless = new CountingEndlessStream();

    assertCode(() -> store().putBlob("0".repeat(64), size, endless), ErrorCode.HASH_MISMATCH);
    assertThat(endless.read).as("bytes read of an endless stream").isLessThanOrEqualTo(size + 1);
    assertThat(list("")).isEmpty();
  }

  /** Zeros for ever, counting what was read. */
  static final class CountingEndlessStream extends InputStream {
    long read;

    @Override
    public int read() {
      read++;
      return 0;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      java.util.Arrays.fill(b, off, off + len, (byte) 0);
      read += len;
      return len;
    }
  }

  @Test
  void listingFindsEveryFileUnderAPrefixAndNothingElse() throws IOException {
    List<String> claims = new ArrayList<>();
    for (int slot = 0; slot < 100; slot++) {
      String path = RepositoryLayout.claimSlot("demo", "1.0.0", "wave-1", slot);
      store().create(path, bytes("slot " + slot));
      claims.add(path);
    }
    store().create(RepositoryLayout.claimIndex("demo", "1.0.0", "wave-1", "n1"), bytes("{}"));
    store().create(RepositoryLayout.feedback("demo", "n1", "e1", 0), bytes("{}"));
    store().compareAndSwap(DOC, null, 1, bytes("v1"));
    store().compareAndSwap(DOC, store().read(DOC, 1024).orElseThrow().tag(), 2, bytes("v2"));

    assertThat(list("claims/demo/1.0.0/wave-1/slot-")).containsExactlyInAnyOrderElementsOf(claims);
    assertThat(list("claims/")).hasSize(101);
    assertThat(list("feedback/")).containsExactly(RepositoryLayout.feedback("demo", "n1", "e1", 0));
    assertThat(list("apps/")).as("the swap's own bookkeeping is never listed").containsExactly(DOC);
    assertThat(list("")).hasSize(103).allSatisfy(path -> assertThat(RepositoryLayout.isHidden(path)).isFalse());
    assertThat(list("nothing/here/")).isEmpty();
    try (Stream<RepositoryStore.Entry> entries = store().list("feedback/")) {
      assertThat(entries).singleElement().satisfies(e -> assertThat(e.size()).isEqualTo(2));
    }
  }

  @Test
  void hiddenAndEscapingPathsAreRefused() {
    for (String path : List.of(".lock", "apps/.stable.sequence/1", "apps/demo/channels/.stable.json.lock",
        "../outside.json", "/absolute.json", "apps//twice.json", "")) {
      assertCode(() -> store().read(path, 1024), ErrorCode.NAME_INVALID);
      assertCode(() -> store().create(path, bytes("x")), ErrorCode.NAME_INVALID);
      assertCode(() -> store().compareAndSwap(path, null, 1, bytes("x")), ErrorCode.NAME_INVALID);
      assertCode(() -> store().stat(path), ErrorCode.NAME_INVALID);
      assertCode(() -> store().delete(path), ErrorCode.NAME_INVALID);
    }
    for (String prefix : List.of("apps/.hidden/", ".", "../", "apps/../../", "/apps/", "apps//", "apps\\demo")) {
      assertCode(() -> store().list(prefix), ErrorCode.NAME_INVALID);
    }
  }

  @Test
  void aDeletedClaimCanBeCreatedAgain() throws IOException {
    String slot = RepositoryLayout.claimSlot("demo", "1.0.0", "wave-1", 0);
    store().create(slot, bytes("n1"));

    assertThat(store().delete(slot)).isTrue();
    assertThat(store().read(slot, 1024)).isEmpty();
    assertThat(store().create(slot, bytes("n2")).written()).isTrue();
    assertThat(store().read(slot, 1024).orElseThrow().bytes()).isEqualTo(bytes("n2"));
  }

  @Test
  void threadsRacingToCreateHaveExactlyOneWinnerPerRound() throws Exception {
    int threads = 8;
    int rounds = 40;
    Map<Integer, List<String>> winners = race(threads, rounds, (store, round, contender) ->
        store.create(StoreRaceWorker.created(round), bytes(StoreRaceWorker.content(contender, round))));

    for (int round = 0; round < rounds; round++) {
      assertThat(winners.get(round)).as("winners of round %d", round).hasSize(1);
      assertThat(store().read(StoreRaceWorker.created(round), 1024).orElseThrow().bytes())
          .isEqualTo(bytes(StoreRaceWorker.content(winners.get(round).get(0), round)));
    }
  }

  @Test
  void threadsRacingToSwapOneVersionHaveExactlyOneWinnerPerRound() throws Exception {
    assumeSwapsAreHeld();
    int threads = 6;
    int rounds = 15;
    store().create(StoreRaceWorker.SWAPPED, bytes("start"));
    CyclicBarrier allRead = new CyclicBarrier(threads);
    Map<Integer, List<String>> winners = race(threads, rounds, (store, round, contender) -> {
      String tag = store.read(StoreRaceWorker.SWAPPED, 1024).orElseThrow().tag();
      allRead.await(60, TimeUnit.SECONDS);
      return store.compareAndSwap(StoreRaceWorker.SWAPPED, tag, round + 1,
          bytes(StoreRaceWorker.content(contender, round)));
    });

    for (int round = 0; round < rounds; round++) {
      assertThat(winners.get(round)).as("winners of round %d", round).hasSize(1);
    }
    assertThat(store().read(StoreRaceWorker.SWAPPED, 1024).orElseThrow().bytes())
        .isEqualTo(bytes(StoreRaceWorker.content(winners.get(rounds - 1).get(0), rounds - 1)));
  }

  @FunctionalInterface
  interface Contender {
    RepositoryStore.Write attempt(RepositoryStore store, int round, String contender) throws Exception;
  }

  /** Runs rounds of a race among threads, each with its own store instance; returns the winners per round. */
  private Map<Integer, List<String>> race(int threads, int rounds, Contender contender) throws Exception {
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    Map<Integer, List<String>> winners = new TreeMap<>();
    try {
      List<Future<List<Integer>>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        String name = "thread-" + t;
        results.add(pool.submit(() -> {
          List<Integer> won = new ArrayList<>();
          try (RepositoryStore store = another()) {
            for (int round = 0; round < rounds; round++) {
              start.await(60, TimeUnit.SECONDS);
              RepositoryStore.Write write = contender.attempt(store, round, name);
              assertThat(write.status()).as("no race between healthy threads ends unknown")
                  .isNotEqualTo(RepositoryStore.Status.UNKNOWN);
              if (write.written()) {
                won.add(round);
              }
            }
          }
          return won;
        }));
      }
      for (int t = 0; t < threads; t++) {
        for (int round : results.get(t).get(100, TimeUnit.SECONDS)) {
          winners.computeIfAbsent(round, r -> new ArrayList<>()).add("thread-" + t);
        }
      }
    } finally {
      pool.shutdownNow();
    }
    return winners;
  }

  @Test
  void processesRacingToCreateHaveExactlyOneWinnerPerRound() throws Exception {
    int rounds = 60;
    Map<Integer, List<String>> winners = raceProcesses("create", 3, 3, rounds);

    for (int round = 0; round < rounds; round++) {
      assertThat(winners.get(round)).as("winners of round %d", round).hasSize(1);
      assertThat(store().read(StoreRaceWorker.created(round), 1024).orElseThrow().bytes())
          .isEqualTo(bytes(StoreRaceWorker.content(winners.get(round).get(0), round)));
    }
  }

  @Test
  void processesRacingToSwapOneVersionHaveExactlyOneWinnerPerRound() throws Exception {
    assumeSwapsAreHeld();
    int rounds = 12;
    store().create(StoreRaceWorker.SWAPPED, bytes("start"));
    Map<Integer, List<String>> winners = raceProcesses("swap", 3, 2, rounds);

    for (int round = 0; round < rounds; round++) {
      assertThat(winners.get(round)).as("winners of round %d", round).hasSize(1);
    }
    assertThat(store().read(StoreRaceWorker.SWAPPED, 1024).orElseThrow().bytes())
        .isEqualTo(bytes(StoreRaceWorker.content(winners.get(rounds - 1).get(0), rounds - 1)));
  }

  private Map<Integer, List<String>> raceProcesses(String mode, int processes, int threads, int rounds)
      throws Exception {
    Path sync = Files.createDirectory(work.resolve("sync-" + mode));
    long timeoutMillis = 90_000;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    for (int id = 0; id < processes; id++) {
      workers.add(new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m", "-cp",
          System.getProperty("java.class.path"), StoreRaceWorker.class.getName(), opener().getName(), address(), mode,
          sync.toString(), String.valueOf(id), String.valueOf(processes), String.valueOf(threads),
          String.valueOf(rounds), String.valueOf(timeoutMillis))
          .redirectOutput(work.resolve(mode + "-out-" + id).toFile())
          .redirectError(work.resolve(mode + "-err-" + id).toFile())
          .start());
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis + 10_000);
    Map<Integer, List<String>> winners = new TreeMap<>();
    for (int id = 0; id < processes; id++) {
      Process worker = workers.get(id);
      boolean exited = worker.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      String err = Files.readString(work.resolve(mode + "-err-" + id), UTF_8);
      assertThat(exited).as("worker %d finished in time; stderr:%n%s", id, err).isTrue();
      assertThat(worker.exitValue()).as("worker %d exit status; stderr:%n%s", id, err).isZero();
      List<String> lines = Files.readAllLines(work.resolve(mode + "-out-" + id), UTF_8);
      assertThat(lines).as("worker %d output", id).endsWith("DONE");
      for (String line : lines.subList(0, lines.size() - 1)) {
        String[] parts = line.split(" ");
        assertThat(parts).as("line %s", line).hasSize(3).startsWith("WON");
        winners.computeIfAbsent(Integer.parseInt(parts[1]), r -> new ArrayList<>()).add(parts[2]);
      }
    }
    assertThat(winners.keySet()).hasSize(rounds);
    return winners;
  }
}
