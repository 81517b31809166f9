package io.upgradekit.updater.dist;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.Distribution;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestRepoServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's download rules on the real distribution: {@code bin/updater} with its real JVM flags
 * (a 64 MB heap) against a repository simulator. An endless release manifest is a refusal, not an
 * OutOfMemoryError; a blob that drips one byte a second ends in DOWNLOAD_TIMEOUT within the
 * configured bound and the next run resumes the partial file; the largest manifest the cap allows
 * installs under that heap. Runs after {@code package} (failsafe).
 */
@Timeout(300)
class HostileRepositoryIT {
  private static final Map<String, String> NO_ARCHIVE = Map.of("UPDATER_CDS", "off");
  private static final int REQUEST_TIMEOUT = 10;
  private static final int WINDOW = 3;

  @TempDir
  Path tmp;

  private Path home;
  private Path config;
  private TestRepo repo;

  @BeforeEach
  void install() throws Exception {
    home = tmp.resolve("updater");
    Distribution.install(home);
    repo = new TestRepo(tmp.resolve("repo"));
  }

  /** A plain target: the updater manages {@code target/}, a service run by commands that always succeed. */
  private void configure(TestRepoServer server) throws IOException {
    config = tmp.resolve("updater.yaml");
    Files.writeString(config, "repository:\n  url: " + server.base() + "\n  trustRoot: " + repo.pinnedRoot()
        + "\napp: demo\nchannel: stable\nhome: " + tmp.resolve("target") + "\nnode:\n  id: node-1\n"
        + "limits:\n  requestTimeout: " + REQUEST_TIMEOUT + "s\n  stallTimeout: 10s\n  minFreeDisk: 1MB\n"
        + "  minDownloadRate: 1KiB\n  minDownloadRateWindow: " + WINDOW + "s\n"
        + "service:\n  start: [\"true\"]\n  stop: [\"true\"]\nhealth:\n  command: [\"true\"]\n");
  }

  private Distribution.Run run(String... args) throws Exception {
    return Distribution.run(home, config, NO_ARCHIVE, 120, args);
  }

  /** Publishes a tree with the real delta engine as the full package of {@code version}. */
  private TestRepo.Release publish(String version, Path tree) throws IOException {
    Path pkg = tmp.resolve("blobs/" + version + ".pkg");
    Files.createDirectories(pkg.getParent());
    DeltaBuilder.DiffResult full = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, tree, pkg));
    TestRepo.Release release = repo.publishBuilt(version, 1, full.target(), Files.readAllBytes(pkg), Map.of());
    repo.point("stable", release);
    return release;
  }

  private Path tree(String name, Map<String, byte[]> files) throws IOException {
    Path dir = tmp.resolve("trees/" + name);
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path file = dir.resolve(f.getKey());
      Files.createDirectories(file.getParent());
      Files.write(file, f.getValue());
    }
    return dir;
  }

  private List<JournalRecord> history() throws Exception {
    Distribution.Run history = run("history", "--json");
    assertThat(history.status()).isZero();
    String json = history.output().lines().filter(l -> l.startsWith("[")).findFirst()
        .orElseThrow(() -> new AssertionError(history.output()));
    return List.of(Json.read(json.getBytes(StandardCharsets.UTF_8), JournalRecord[].class, "history"));
  }

  @Test
  void anEndlessManifestIsARefusalWithExit3AndNoOutOfMemoryError() throws Exception {
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      configure(server);
      publish("1.0.0", tree("1.0.0", Map.of("app.txt", "hello\n".getBytes(StandardCharsets.UTF_8))));
      server.on(RepositoryLayout.releaseManifest("demo", "1.0.0")).appendEndless();

      Distribution.Run r = run("run", "--once");

      assertThat(r.status()).as(r.output()).isEqualTo(3);
      assertThat(r.output()).contains("refused [METADATA_INCONSISTENT]").doesNotContain("OutOfMemoryError");
      assertThat(tmp.resolve("target/current")).doesNotExist();
    }
  }

  @Test
  void aBlobDrippingOneBytePerSecondEndsInDownloadTimeoutAndTheNextRunResumesIt() throws Exception {
    byte[] data = new byte[256 * 1024];
    new Random(7).nextBytes(data);
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      configure(server);
      TestRepo.Release v1 = publish("1.0.0", tree("1.0.0", Map.of("lib/data.bin", data)));
      String blob = RepositoryLayout.blob(v1.manifest().packageBlob().sha256());
      // Headers at once, 64 KiB, then one byte a second: never silent for the 10 s stall timeout.
      server.on(blob).fastFirst(64 * 1024).drip(1, Duration.ofSeconds(1)).times(1);

      Distribution.Run slow = run("run", "--once");

      assertThat(slow.status()).as(slow.output()).isEqualTo(1);
      assertThat(slow.output()).contains("failed [DOWNLOAD_TIMEOUT]").doesNotContain("OutOfMemoryError");
      JournalRecord event = history().get(0);
      assertThat(event.errorCode()).isEqualTo("DOWNLOAD_TIMEOUT");
      StepReport download = event.steps().stream().filter(s -> s.state().equals("DOWNLOAD")).findFirst().orElseThrow();
      // The rate rule's bound: the headers (request timeout), then at most two rate windows.
      assertThat(download.durationMillis()).as("DOWNLOAD took").isLessThan((REQUEST_TIMEOUT + 2L * WINDOW) * 1000);
      Path part;
      try (Stream<Path> cache = Files.list(tmp.resolve("target/state/cache"))) {
        part = cache.filter(f -> f.toString().endsWith(".part")).findFirst().orElseThrow();
      }
      long kept = Files.size(part);
      assertThat(kept).isGreaterThanOrEqualTo(64 * 1024);

      Distribution.Run next = run("run", "--once");

      assertThat(next.status()).as(next.output()).isZero();
      assertThat(server.requests(blob)).hasSize(2).last()
          .satisfies(request -> assertThat(request.header("Range")).isEqualTo("bytes=" + kept + "-"));
      assertThat(Files.readSymbolicLink(tmp.resolve("target/current"))).isEqualTo(Path.of("versions", "1.0.0"));
      assertThat(tmp.resolve("target/versions/1.0.0/lib/data.bin")).hasBinaryContent(data);
    }
  }

  @Test
  void theLargestManifestTheCapAllowsInstallsUnderTheRealHeap() throws Exception {
    // About 230 bytes per file in the manifest: 8,500 files make a manifest just under 2 MiB.
    Map<String, byte[]> files = new java.util.TreeMap<>();
    for (int i = 0; i < 8_500; i++) {
      files.put(String.format("lib/module-%03d/org.example.component-%05d-1.0.0.jar", i / 50, i),
          Integer.toString(i).getBytes(StandardCharsets.UTF_8));
    }
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      configure(server);
      publish("1.0.0", tree("1.0.0", files));
      long manifest = Files.size(repo.dir().resolve(RepositoryLayout.releaseManifest("demo", "1.0.0")));
      assertThat(manifest).as("the manifest's size").isBetween(DocumentType.RELEASE.maxBytes() * 3L / 4,
          (long) DocumentType.RELEASE.maxBytes());

      Distribution.Run r = run("run", "--once");

      assertThat(r.status()).as(r.output()).isZero();
      assertThat(r.output()).doesNotContain("OutOfMemoryError");
      assertThat(tmp.resolve("target/versions/1.0.0/lib/module-169/org.example.component-08499-1.0.0.jar"))
          .hasContent("8499");
    }
  }
}
