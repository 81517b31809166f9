package io.upgradekit.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.schema.store.RepositoryStoreContract;
import io.upgradekit.schema.store.StoreOpener;
import io.upgradekit.store.s3.FaultyHttpClient.Fault;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The store contract on an S3-compatible server through the real HTTP path ({@link TestServer}:
 * s3proxy by default, a Ceph RGW under bench/s3-rgw.sh), and what only an object store has:
 * multipart uploads, ETags, answers that do not say who won, deadlines, refused credentials.
 * Each test has a prefix of its own in one bucket, so each starts with an empty store.
 */
class S3StoreTest extends RepositoryStoreContract {
  private static final AtomicInteger RUNS = new AtomicInteger();

  private final String prefix = "run-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet() + "/";
  private final List<S3Store> opened = new ArrayList<>();
  private S3Store store;

  /** Opens the S3 store from its text address, in any process, with the test's keys. */
  public static final class Opener implements StoreOpener {
    @Override
    public RepositoryStore open(String address) {
      TestServer.useTestKeys();
      return new S3Store(S3StoreConfig.parse(address));
    }
  }

  @Override
  protected RepositoryStore store() throws IOException {
    if (store == null) {
      store = track(new S3Store(config()));
    }
    return store;
  }

  @Override
  protected Class<? extends StoreOpener> opener() {
    return Opener.class;
  }

  @Override
  protected String address() {
    return config().toUri();
  }

  /**
   * s3proxy evaluates If-Match by reading, then writing: racing swaps all win now and then (lost
   * updates), so the swap races run only against a server that holds it (bench/s3-rgw.sh).
   */
  @Override
  protected boolean holdsCompareAndSwapUnderConcurrency() {
    return TestServer.holdsIfMatch();
  }

  @AfterEach
  void closeStores() {
    opened.forEach(S3Store::close);
  }

  private S3StoreConfig config() {
    try {
      return TestServer.config(prefix);
    } catch (Exception e) {
      throw new IllegalStateException("the S3 server " + TestServer.name() + " is not available", e);
    }
  }

  private <T extends S3Store> T track(T opened) {
    this.opened.add(opened);
    return opened;
  }

  /** A store whose requests pass through {@link FaultyHttpClient}. */
  private FaultyHttpClient faulty(Function<SdkHttpRequest, Fault> faults) {
    return new FaultyHttpClient(UrlConnectionHttpClient.create(), faults);
  }

  private S3Store storeOver(FaultyHttpClient http) {
    return track(new S3Store(config(), http));
  }

  private static boolean isPut(SdkHttpRequest request) {
    return request.method() == SdkHttpMethod.PUT;
  }

  private static long puts(FaultyHttpClient http) {
    return http.requests.stream().filter(S3StoreTest::isPut).count();
  }

  @Test
  void aTagIsTheObjectsEtagWithoutQuotes() throws Exception {
    RepositoryStore.Write written = store().create("apps/demo/channels/stable.json", bytes("v1"));

    try (S3Client raw = TestServer.rawClient()) {
      String etag = raw.headObject(b -> b.bucket(TestServer.BUCKET).key(prefix + "apps/demo/channels/stable.json"))
          .eTag();
      assertThat(written.tag()).isEqualTo(etag.replace("\"", "")).doesNotContain("\"");
    }
  }

  @Test
  void aLargeBlobIsUploadedInPartsAndBecomesVisibleOnlyIfItMatches() throws Exception {
    int partSize = S3StoreConfig.MIN_PART_SIZE;
    byte[] blob = new byte[2 * partSize + 12345];
    new Random(3).nextBytes(blob);
    String sha = Hashes.sha256(blob);
    S3Store parts = track(new S3Store(config().withPartSize(partSize)));

    assertThat(parts.putBlob(sha, blob.length, new ByteArrayInputStream(blob))).isTrue();
    try (InputStream in = parts.open(RepositoryLayout.blob(sha)).orElseThrow()) {
      assertThat(in.readAllBytes()).isEqualTo(blob);
    }
    try (S3Client raw = TestServer.rawClient()) {
      assertThat(raw.headObject(b -> b.bucket(TestServer.BUCKET).key(prefix + RepositoryLayout.blob(sha))).eTag())
          .as("a multipart object's ETag counts its parts").endsWith("-3\"");
    }

    byte[] forged = blob.clone();
    forged[forged.length - 1] ^= 1; // only the last byte differs: every part but the last is uploaded
    String other = Hashes.sha256(bytes("other"));
    assertCode(() -> parts.putBlob(other, forged.length, new ByteArrayInputStream(forged)), ErrorCode.HASH_MISMATCH);
    assertThat(parts.stat(RepositoryLayout.blob(other))).isEmpty();
    try (S3Client raw = TestServer.rawClient()) {
      assertThat(raw.listMultipartUploads(b -> b.bucket(TestServer.BUCKET).prefix(prefix)).uploads())
          .as("the refused upload was aborted").isEmpty();
    }
    assertThat(list("")).containsExactly(RepositoryLayout.blob(sha));
  }

  @Test
  void aWriteWhoseAnswerIsLostAfterItWasStoredIsSettledAsWrittenByReadingBack() throws Exception {
    AtomicInteger failed = new AtomicInteger();
    FaultyHttpClient http = faulty(request -> isPut(request) && failed.getAndIncrement() == 0
        ? Fault.storeButAnswer(500) : Fault.NONE);
    S3Store s3 = storeOver(http);

    RepositoryStore.Write write = s3.create("claims/demo/1.0.0/wave-1/slot-0.json", bytes("n1"));

    assertThat(write.written()).isTrue();
    assertThat(write.tag()).isEqualTo(store().read("claims/demo/1.0.0/wave-1/slot-0.json", 1024).orElseThrow().tag());
    assertThat(puts(http)).as("settled by reading, not by writing again").isEqualTo(1);
  }

  @Test
  void aWriteRefusedBeforeItReachedTheStoreIsTriedAgain() throws Exception {
    AtomicInteger failed = new AtomicInteger();
    FaultyHttpClient http = faulty(request -> isPut(request) && failed.getAndIncrement() < 2
        ? Fault.answerWithoutStoring(failed.get() == 1 ? 503 : 409) : Fault.NONE);
    S3Store s3 = storeOver(http);

    RepositoryStore.Write created = s3.create("apps/demo/channels/stable.json", bytes("v1"));
    assertThat(created.written()).isTrue();
    assertThat(puts(http)).isEqualTo(3);
    assertThat(store().read("apps/demo/channels/stable.json", 1024).orElseThrow().bytes()).isEqualTo(bytes("v1"));
  }

  @Test
  void aLoserAnsweredWithA500IsToldItLost() throws Exception {
    String path = "claims/demo/1.0.0/wave-1/slot-0.json";
    RepositoryStore.Write winner = store().create(path, bytes("winner"));
    S3Store s3 = storeOver(faulty(request -> isPut(request) ? Fault.storeButAnswer(500) : Fault.NONE));

    assertThat(s3.create(path, bytes("loser")).status()).isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(s3.compareAndSwap(path, "an-old-tag", 2, bytes("loser")).status())
        .isEqualTo(RepositoryStore.Status.CONFLICT);
    assertThat(store().read(path, 1024).orElseThrow().tag()).isEqualTo(winner.tag());
  }

  @Test
  void aWriteThatNeverGetsThroughEndsUnknownAfterItsAttempts() throws Exception {
    FaultyHttpClient http = faulty(request -> isPut(request) ? Fault.answerWithoutStoring(503) : Fault.NONE);
    S3Store s3 = storeOver(http);

    assertThat(s3.create("apps/demo/channels/stable.json", bytes("v1")).status())
        .isEqualTo(RepositoryStore.Status.UNKNOWN);
    assertThat(puts(http)).isEqualTo(S3Store.CONDITIONAL_ATTEMPTS);
    assertThat(store().read("apps/demo/channels/stable.json", 1024)).isEmpty();
  }

  @Test
  void aStoreThatComparesBareEtagsGetsThemAfterItsFirstRefusal() throws Exception {
    String path = "apps/demo/channels/stable.json";
    // As Ceph RGW: a quoted If-Match never matches there, whatever the ETag.
    FaultyHttpClient http = faulty(request -> request.firstMatchingHeader("If-Match").filter(v -> v.startsWith("\""))
        .isPresent() ? Fault.answerWithoutStoring(412) : Fault.NONE);
    S3Store s3 = storeOver(http);
    RepositoryStore.Write v1 = s3.create(path, bytes("v1"));

    RepositoryStore.Write v2 = s3.compareAndSwap(path, v1.tag(), 2, bytes("v2"));
    assertThat(v2.written()).isTrue();
    assertThat(s3.compareAndSwap(path, v2.tag(), 3, bytes("v3")).written()).isTrue();
    assertThat(s3.compareAndSwap(path, v2.tag(), 4, bytes("v4 on v2")).status())
        .isEqualTo(RepositoryStore.Status.CONFLICT);

    assertThat(http.requests.stream().filter(S3StoreTest::isPut).map(r -> r.firstMatchingHeader("If-Match")
        .orElse("none")).toList()).containsExactly("none", '"' + v1.tag() + '"', v1.tag(), v2.tag(),
        v2.tag());
    assertThat(store().read(path, 1024).orElseThrow().bytes()).isEqualTo(bytes("v3"));
  }

  @Test
  void aStoreThatDoesNotAnswerFailsWithinTheCallDeadline() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      List<Socket> accepted = new ArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept()); // and never answer
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
      acceptor.start();
      S3StoreConfig config = S3StoreConfig.of(TestServer.BUCKET, prefix)
          .withEndpoint(java.net.URI.create("http://127.0.0.1:" + silent.getLocalPort()), true)
          .withRegion("us-east-1").withCallTimeout(Duration.ofSeconds(1));
      S3Store s3 = track(new S3Store(config));

      long start = System.nanoTime();
      assertThatThrownBy(() -> s3.read("apps/demo/channels/stable.json", 1024))
          .isInstanceOfSatisfying(S3StoreException.class, e -> {
            assertThat(e.timedOut()).isTrue();
            assertThat(e.status()).isZero();
            assertThat(e.getMessage()).contains("no answer within PT1S");
          });
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
      silent.close();
      acceptor.join(5000);
      for (Socket socket : accepted) {
        socket.close();
      }
    }
  }

  @Test
  void wrongKeysAreRefusedAsAccessDeniedWithTheFixInTheMessage() throws Exception {
    TestServer.useTestKeys();
    String access = System.getProperty("aws.accessKeyId");
    String secret = System.getProperty("aws.secretAccessKey");
    System.setProperty("aws.accessKeyId", TestServer.accessKey());
    System.setProperty("aws.secretAccessKey", "not-the-secret");
    try {
      S3Store wrong = track(new S3Store(config()));
      assertThatThrownBy(() -> wrong.create("apps/demo/channels/stable.json", bytes("v1")))
          .isInstanceOfSatisfying(io.upgradekit.schema.UpgradeException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED);
            assertThat(e.getMessage()).contains("HTTP 403", "AWS_ACCESS_KEY_ID");
          });
    } finally {
      restore("aws.accessKeyId", access);
      restore("aws.secretAccessKey", secret);
    }
  }

  private static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }

  @Test
  void aMissingBucketIsAConfigurationErrorNamingIt() throws Exception {
    S3Store missing = track(new S3Store(S3StoreConfig.of("no-such-bucket-here", prefix)
        .withEndpoint(TestServer.endpoint(), true).withRegion("us-east-1")));

    assertThatThrownBy(() -> missing.create("apps/demo/channels/stable.json", bytes("v1")))
        .isInstanceOfSatisfying(io.upgradekit.schema.UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
          assertThat(e.getMessage()).contains("bucket no-such-bucket-here does not exist", "create it");
        });
  }
}
