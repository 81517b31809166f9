package io.upgradekit.updater.download;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The download rules of issue 11 through the real HTTP path: a repository simulator answers with
 * endless, lying, dripping bodies, and the node's own files are replaced by huge ones; the engine
 * must end each case with its typed code, bounded in memory and time, and change nothing live.
 */
@Timeout(120)
class HostileRepositoryTest {
  private static final String HEALTHY = "healthy=true\n";
  /** A file larger than any heap, costing no disk: a read that is not bounded fails with OutOfMemoryError. */
  private static final long HUGE = 8L << 30;

  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stopEverything() {
    if (target != null) {
      target.close();
    }
  }

  private void installV1(String limits) throws IOException {
    target = new TestTarget(tmp, "restart", null);
    if (limits != null) {
      Files.writeString(target.configFile, Files.readString(target.configFile)
          .replace("  minFreeDisk: 1MB\n", "  minFreeDisk: 1MB\n" + limits));
    }
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    target.server.reports.clear();
  }

  /** 2.0.0 with a 64 KiB file of random bytes, so its delta is about that large. */
  private Release publishV2() {
    Map<String, byte[]> files = new java.util.LinkedHashMap<>(TestTarget.files("2.0.0", HEALTHY));
    byte[] noise = new byte[64 * 1024];
    new Random(2).nextBytes(noise);
    files.put("lib/data.bin", noise);
    Release v2 = target.repo.publish("2.0.0", 2, files, "1.0.0");
    target.repo.point("stable", v2);
    return v2;
  }

  private static String manifestPath(String version) {
    return RepositoryLayout.releaseManifest("demo", version);
  }

  private static String blobPath(Release release) {
    return RepositoryLayout.blob(release.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256());
  }

  private void assertNothingLiveChanged() {
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.homeDirs().journal()).doesNotExist();
  }

  private JournalRecord lastEvent() {
    List<JournalRecord> history = target.engine().journal().history();
    return history.get(history.size() - 1);
  }

  private static void huge(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(HUGE); // sparse
    }
  }

  // ------------------------------------------------------------------ sizes a signed document names

  @Test
  void anEndlessManifestIsRefusedOneByteAfterTheSizeThePointerSigned() throws Exception {
    installV1(null);
    publishV2();
    long signed = Files.size(target.repo.dir().resolve(manifestPath("2.0.0")));
    target.server.on(manifestPath("2.0.0")).appendEndless();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.REFUSED);
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.code()).isEqualTo(ErrorCode.METADATA_INCONSISTENT);
    assertThat(r.message()).contains("names " + signed + " bytes").contains("stopped reading at byte " + (signed + 1));
    assertNothingLiveChanged();
    assertThat(target.server.reports.values()).singleElement().asString().contains("METADATA_INCONSISTENT");
  }

  @Test
  void aManifestWhoseContentLengthAnnouncesMoreThanTheSignedSizeIsRefusedBeforeItsBody() throws Exception {
    installV1(null);
    publishV2();
    target.server.on(manifestPath("2.0.0")).contentLength(1L << 30);

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.METADATA_INCONSISTENT);
    assertThat(r.message()).contains("announces " + (1L << 30) + " bytes (Content-Length)");
    assertNothingLiveChanged();
  }

  @Test
  void aPointerThatSignsAManifestLargerThanTheCapIsRefusedWithoutFetchingIt() throws Exception {
    installV1(null);
    publishV2();
    long over = DocumentType.RELEASE.maxBytes() + 1L;
    target.repo.pointWithManifestRef("stable", "2.0.0", new BlobRef("a".repeat(64), over));

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.METADATA_TOO_LARGE);
    assertThat(r.message()).contains(over + " bytes");
    assertThat(target.server.requests(manifestPath("2.0.0"))).isEmpty();
    assertNothingLiveChanged();
  }

  @Test
  void aTruncatedManifestIsInconsistentWithItsSignedSize() throws Exception {
    installV1(null);
    publishV2();
    target.server.on(manifestPath("2.0.0")).truncate(100);

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.METADATA_INCONSISTENT);
    assertNothingLiveChanged();
  }

  @Test
  void aBlobWhoseContentLengthAnnouncesMoreThanItsSignedSizeIsRefusedBeforeItsBody() throws Exception {
    installV1(null);
    Release v2 = publishV2();
    target.server.on(blobPath(v2)).contentLength(1L << 40);

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.HASH_MISMATCH);
    assertThat(r.message()).contains("(Content-Length)").contains("read none of them");
    assertThat(target.server.requests(blobPath(v2))).hasSize(1);
    assertNothingLiveChanged();
  }

  @Test
  void anEndlessBlobIsRefusedAtItsSignedSize() throws Exception {
    installV1(null);
    Release v2 = publishV2();
    target.server.on(blobPath(v2)).appendEndless();

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.HASH_MISMATCH);
    assertThat(r.message()).contains("longer than its signed size");
    assertNothingLiveChanged();
  }

  @Test
  void aConnectionClosedMidBodyIsResumedWithRangeAndAServerThatIgnoresRangeIsReadAfresh() throws Exception {
    installV1(null);
    Release v2 = publishV2();
    target.server.on(blobPath(v2)).closeAfter(10_000).times(1); // then: a server without range support
    target.server.on(blobPath(v2)).ignoreRange().times(1);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    List<io.upgradekit.updater.testsupport.RepoSimulator.Request> asked = target.server.requests(blobPath(v2));
    assertThat(asked).hasSize(2);
    assertThat(asked.get(1).header("Range")).isEqualTo("bytes=10000-");
  }

  // ------------------------------------------------------------------ time

  @Test
  void aDrippingBlobEndsInDownloadTimeoutAndTheNextRunResumesThePartialFile() throws Exception {
    installV1("  minDownloadRate: 1KiB\n  minDownloadRateWindow: 1s\n");
    Release v2 = publishV2();
    // Headers at once, 4 KiB, then 10 bytes a second: never silent for the 2 s stall timeout.
    target.server.on(blobPath(v2)).fastFirst(4096).drip(1, Duration.ofMillis(100)).times(1);

    Result slow = target.engine().runOnce(false);

    assertThat(slow.outcome()).as(slow.message()).isEqualTo(Outcome.FAILED);
    assertThat(slow.code()).isEqualTo(ErrorCode.DOWNLOAD_TIMEOUT);
    assertThat(slow.message()).contains("slower than the minimum of 1024 bytes/s");
    assertThat(target.server.requests(blobPath(v2))).as("a too slow server is not asked again in the same run")
        .hasSize(1);
    assertNothingLiveChanged();
    assertThat(lastEvent().errorCode()).isEqualTo("DOWNLOAD_TIMEOUT");
    assertThat(target.server.reports.values()).singleElement().asString().contains("DOWNLOAD_TIMEOUT");
    Path part;
    try (Stream<Path> files = Files.list(target.homeDirs().cache())) {
      part = files.filter(f -> f.toString().endsWith(".part")).findFirst().orElseThrow();
    }
    long kept = Files.size(part);
    assertThat(kept).isGreaterThanOrEqualTo(4096);

    Result next = target.engine().runOnce(false);

    assertThat(next.outcome()).as(next.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.requests(blobPath(v2))).last()
        .satisfies(request -> assertThat(request.header("Range")).isEqualTo("bytes=" + kept + "-"));
  }

  @Test
  void retriesOfABlobDownloadShareOneDeadline() throws Exception {
    // The deadline of a 100-byte blob: 1 s request timeout + 1 s window + 1 s; every attempt waits
    // a full request timeout for headers that never come, and the pauses between attempts count.
    installV1("  minDownloadRate: 1MiB\n  minDownloadRateWindow: 1s\n");
    Files.writeString(target.configFile, Files.readString(target.configFile)
        .replace("requestTimeout: 5s", "requestTimeout: 1s"));
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);
    target.server.on(blobPath(v2)).delayHeaders(Duration.ofSeconds(30));

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isIn(ErrorCode.DOWNLOAD_FAILED, ErrorCode.DOWNLOAD_TIMEOUT);
    assertThat(target.server.requests(blobPath(v2))).as("3 attempts do not fit into the deadline").hasSizeLessThan(3);
    assertNothingLiveChanged();
  }

  @Test
  void aDrippingFeedbackAnswerDoesNotHoldTheUpdater() throws Exception {
    installV1("  minDownloadRate: 1KiB\n  minDownloadRateWindow: 1s\n");
    publishV2();
    target.server.on("v1/feedback").appendEndless().drip(1, Duration.ofMillis(100));

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.reports).hasSize(1);
    assertThat(target.engine().outbox().pending()).as("202 came with the headers: delivered").isEmpty();
  }

  @Test
  void aDrippingMetricsEndpointEndsWithinTheTimeout() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    target.server.on("metrics").body("m 1\n".getBytes()).appendEndless().drip(1, Duration.ofMillis(100));

    byte[] body = RepositoryClient.getSmall(target.server.base().resolve("metrics"), 4 * 1024 * 1024,
        Duration.ofSeconds(1));

    assertThat(body).isNull();
  }

  // ------------------------------------------------------------------ the node's own files

  @Test
  void aHugeInstalledManifestOnDiskIsNotReadWhole() throws Exception {
    installV1(null);
    publishV2();
    huge(target.homeDirs().releases().resolve("1.0.0.json"));

    Result r = target.engine().runOnce(false);

    // Read bounded (a whole read of the sparse file would exhaust the heap), found damaged, kept
    // aside for diagnosis, and the update carries on from the full package: the delta needs the
    // installed release's manifest, which is gone.
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.homeDirs().releases().resolve("1.0.0.json")).doesNotExist();
    try (var aside = Files.list(target.homeDirs().state().resolve("damaged"))) {
      assertThat(aside.map(f -> f.getFileName().toString())).anyMatch(n -> n.contains("1.0.0.json"));
    }
    assertThat(target.engine().journal().history()).anyMatch(e -> "STATE_RECOVERED".equals(e.errorCode())
        || e.steps().stream().anyMatch(s -> "STATE_RECOVERED".equals(s.errorCode())));
  }

  @Test
  void aHugeCachedChannelPointerIsDroppedAndFetchedAgain() throws Exception {
    installV1(null);
    huge(target.homeDirs().trust().resolve("channel.json"));

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(Files.size(target.homeDirs().trust().resolve("channel.json"))).isLessThan(DocumentType.CHANNEL.maxBytes());
  }

  @Test
  void aHugeCachedTrustRootIsDroppedAndFetchedAgain() throws Exception {
    installV1(null);
    target.repo.rotateReleaseKey();
    Release v2 = publishV2();
    Path cached = target.homeDirs().trust().resolve("roots/2.root.json");
    assertThat(target.engine().runOnce(true).outcome()).isEqualTo(Outcome.STAGED);
    assertThat(cached).exists();
    huge(cached);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(r.version()).isEqualTo(v2.version());
    assertThat(Files.size(cached)).isLessThan(DocumentType.ROOT.maxBytes());
  }

  @Test
  void aHugePinnedTrustRootIsAConfigurationError() throws Exception {
    installV1(null);
    huge(target.repo.pinnedRoot());

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).as(r.message()).isEqualTo(ErrorCode.CONFIG_INVALID);
    assertThat(r.message()).contains("repository.trustRoot").contains("is larger than");
  }

  @Test
  void aHugeOutboxEntryIsDroppedAndTheOthersAreDelivered() throws Exception {
    installV1(null);
    huge(target.homeDirs().outbox().resolve("0000-1.json"));
    publishV2();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.reports).hasSize(1);
    assertThat(target.engine().outbox().pending()).isEmpty();
  }
}
