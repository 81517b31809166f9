package io.upgradekit.updater.download;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.SmallFileSystem;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up while the updater downloads: a real updater process whose home is on a small
 * tmpfs downloads a blob larger than the space left once something else has filled the disk (the
 * simulator fills it when the blob request arrives, after the updater's free-space check passed).
 */
@Timeout(180)
class DiskFullTest {
  private static final long FILE_SYSTEM = 48L << 20;
  private static final long LEFT = 4L << 20;

  @TempDir
  Path tmp;

  private TestTarget target;
  private SmallFileSystem fs;

  @AfterEach
  void stopEverything() throws Exception {
    if (target != null) {
      target.close();
    }
    if (fs != null) {
      fs.close();
    }
  }

  @Test
  void aDiskThatFillsUpDuringTheDownloadIsDiskFullWithTheSpaceFreedReportedAndNothingLiveChanged() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    fs = SmallFileSystem.mount(target.home, FILE_SYSTEM);
    target.launcher = fs.commandPrefix();
    System.out.println("home on a small file system: " + fs);
    Path home = fs.path();
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n"));
    target.repo.point("stable", v1);
    assertThat(target.runUpdater(null, "run", "--once")).as(target.updaterLog()).isZero();
    assertThat(target.servedVersion()).isEqualTo("1.0.0");

    // 2.0.0 brings 16 MiB that do not compress: its delta is larger than what will be left.
    Map<String, byte[]> files = new LinkedHashMap<>(TestTarget.files("2.0.0", "healthy=true\n"));
    byte[] noise = new byte[16 << 20];
    new Random(11).nextBytes(noise);
    files.put("lib/big.bin", noise);
    Release v2 = target.repo.publish("2.0.0", 2, files, "1.0.0");
    target.repo.point("stable", v2);
    long blobSize = v2.manifest().deltaFrom("1.0.0").orElseThrow().blob().size();
    assertThat(blobSize).isGreaterThan(LEFT);
    assertThat(fs.usable()).as("the updater's free-space check passes").isGreaterThan(2 * blobSize + (1 << 20));
    AtomicLong freeWhenFilled = new AtomicLong();
    target.server.on(RepositoryLayout.blob(v2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256()))
        .beforeHeaders(() -> {
          try {
            fs.fillLeaving("filler", LEFT); // something else fills the disk
            freeWhenFilled.set(fs.usable());
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
    target.server.reports.clear();

    int status = target.runUpdater(null, "run", "--once");

    String log = target.updaterLog();
    assertThat(status).as(log).isEqualTo(1);
    assertThat(log).contains("failed [DISK_FULL]");
    // history --json, from the updater itself
    JournalRecord event = lastEvent(history());
    assertThat(event.toVersion()).isEqualTo("2.0.0");
    assertThat(event.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(event.errorCode()).isEqualTo("DISK_FULL");
    assertThat(event.message()).contains("the partial download was deleted");
    assertThat(event.steps()).filteredOn(s -> s.errorCode() != null).singleElement().satisfies(s -> {
      assertThat(s.state()).isEqualTo("DOWNLOAD");
      assertThat(s.errorCode()).isEqualTo("DISK_FULL");
    });
    // the report the server received
    assertThat(target.server.reports.values()).singleElement().asString()
        .contains("\"errorCode\":\"DISK_FULL\"").contains("\"outcome\":\"FAILED\"").contains("\"toVersion\":\"2.0.0\"");
    // the journal ended; the live version is untouched
    assertThat(home.resolve("state/journal.json")).doesNotExist();
    assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions", "1.0.0"));
    assertThat(home.resolve("versions/2.0.0")).doesNotExist();
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    // the space the partial download took is free again
    try (Stream<Path> cache = Files.list(home.resolve("state/cache"))) {
      assertThat(cache).isEmpty();
    }
    assertThat(fs.usable()).as("free after the run, vs. free when the disk was filled (%d)", freeWhenFilled.get())
        .isGreaterThan(freeWhenFilled.get() - (256 << 10));
  }

  private List<JournalRecord> history() throws Exception {
    long before = Files.size(tmp.resolve("updater.log"));
    assertThat(target.runUpdater(null, "history", "--json")).isZero();
    byte[] all = Files.readAllBytes(tmp.resolve("updater.log"));
    String out = new String(all, (int) before, (int) (all.length - before), StandardCharsets.UTF_8);
    String json = out.lines().filter(l -> l.startsWith("[")).findFirst().orElseThrow(() -> new AssertionError(out));
    return List.of(Json.read(json.getBytes(StandardCharsets.UTF_8), JournalRecord[].class, "history"));
  }

  private static JournalRecord lastEvent(List<JournalRecord> events) {
    return events.get(events.size() - 1);
  }
}
