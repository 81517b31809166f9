package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.DiskFull;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk mid-update, on a real small file system: the target's home is a tmpfs of {@value
 * #SIZE}. Mounted directly when this process may (root); otherwise the scenario runs in a child JVM
 * inside a private mount namespace ({@code unshare -rm}). Never skipped: if neither works, the test
 * fails and says why.
 */
@Timeout(300)
class DiskFullTest {
  static final String SIZE = "8m";
  private static final String HEALTHY = "healthy=true\n";

  @TempDir
  Path tmp;

  @Test
  void aStagedTreeThatDoesNotFitIsRecordedAsDiskFullAndTheNextRunOnAFreedDiskSucceeds() throws Exception {
    onSmallFileSystem("staging");
  }

  @Test
  void stateWritesOnAFullDiskUseTheReserveSoTheFailureIsStillRecorded() throws Exception {
    onSmallFileSystem("reserve");
  }

  private void onSmallFileSystem(String scenario) throws Exception {
    Path dir = tmp.resolve("t");
    Path home = dir.resolve("home");
    Files.createDirectories(home);
    String mounted = run("mount", "-t", "tmpfs", "-o", "size=" + SIZE, "tmpfs", home.toString());
    if (mounted == null) {
      try {
        Scenarios.run(scenario, dir);
      } finally {
        if (run("umount", home.toString()) != null) {
          run("umount", "-l", home.toString());
        }
      }
      return;
    }
    // Not allowed to mount here: the same scenario in a child JVM in a private mount namespace.
    Path log = tmp.resolve("child.log");
    List<String> command = new ArrayList<>(List.of("unshare", "-rm", "sh", "-c",
        "mount -t tmpfs -o size=" + SIZE + " tmpfs \"$1\" && shift && exec \"$@\"", "sh", home.toString()));
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(TestTarget.SMALL_JVM);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Scenarios.class.getName(), scenario,
        dir.toString()));
    Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean ended = child.waitFor(240, TimeUnit.SECONDS);
    if (!ended) {
      child.destroyForcibly();
    }
    assertThat(ended && child.exitValue() == 0).as("direct mount failed (" + mounted + "); the scenario under "
        + "unshare -rm did not pass:\n" + Files.readString(log)).isTrue();
  }

  /** Runs a command; null when it exited 0, else its output. */
  private static String run(String... command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      return "cannot run " + command[0] + ": " + e.getMessage();
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return "timed out: " + String.join(" ", command);
    }
    return p.exitValue() == 0 ? null : "status " + p.exitValue() + ": " + out.strip();
  }

  /** The scenarios; {@code dir/home} is the small file system. Also a main for the child JVM. */
  public static final class Scenarios {
    public static void main(String[] args) throws Exception {
      run(args[0], Path.of(args[1]));
      System.out.println("scenario " + args[0] + " passed");
      System.exit(0);
    }

    static void run(String scenario, Path dir) throws Exception {
      try (TestTarget target = new TestTarget(dir, "restart", null)) {
        switch (scenario) {
          case "staging" -> staging(target, dir);
          case "reserve" -> reserve(target, dir);
          default -> throw new IllegalArgumentException(scenario);
        }
      }
    }

    private static void staging(TestTarget target, Path dir) throws Exception {
      Path v1 = tree(dir.resolve("src/1"), TestTarget.files("1.0.0", HEALTHY));
      Map<String, byte[]> files2 = new LinkedHashMap<>(TestTarget.files("2.0.0", HEALTHY));
      // 600 kB of content in 3500 files: the free-space check passes, but every small file takes a
      // whole page (4 kB) of the tmpfs, far more than the 8 MB it has.
      for (int i = 0; i < 3500; i++) {
        files2.put("many/f" + i + ".txt", ("file " + i + " of 2.0.0\n").repeat(10).getBytes(StandardCharsets.UTF_8));
      }
      Path v2 = tree(dir.resolve("src/2"), files2);
      var r1 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v1, dir.resolve("src/pkg1")));
      var r2 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v2, dir.resolve("src/pkg2")));
      DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(v1, v2, dir.resolve("src/d12")));
      TestRepo.Release rel1 = target.repo.publishBuilt("1.0.0", 1, r1.target(),
          Files.readAllBytes(dir.resolve("src/pkg1")), Map.of());
      target.repo.point("stable", rel1);
      UpdateEngine engine = new UpdateEngine(target.config(), new DeltaEngineApplier(2), Clock.systemUTC(),
          TestTarget.notes(line -> System.out.println("[updater] " + line)));
      assertThat(engine.runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
      long pid = target.serviceProcesses().get(0).pid();
      TestRepo.Release rel2 = target.repo.publishBuilt("2.0.0", 2, r2.target(),
          Files.readAllBytes(dir.resolve("src/pkg2")), Map.of("1.0.0", Files.readAllBytes(dir.resolve("src/d12"))));
      target.repo.point("stable", rel2);

      UpdateEngine.Result full = engine.runOnce(false);

      assertThat(full.code()).as(full.message()).isEqualTo(ErrorCode.DISK_FULL);
      assertThat(full.exitCode()).isEqualTo(1);
      assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
      assertThat(target.servedVersion()).isEqualTo("1.0.0");
      assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
      assertThat(target.homeDirs().versionsOnDisk()).containsExactly("1.0.0");
      assertThat(target.homeDirs().staging()).isEmptyDirectory();
      JournalRecord event = last(engine);
      assertThat(event.toVersion()).isEqualTo("2.0.0");
      assertThat(event.errorCode()).isEqualTo("DISK_FULL");
      assertThat(event.steps()).anyMatch(s -> s.state().equals("STAGE") && "DISK_FULL".equals(s.errorCode()));
      assertThat(target.server.reports.values()).anyMatch(b -> b.contains("\"errorCode\":\"DISK_FULL\"")
          && b.contains("\"toVersion\":\"2.0.0\""));

      // The operator frees space (here: the file system grows); the next run installs 2.0.0.
      assertThat(DiskFullTest.run("mount", "-o", "remount,size=64m", target.home.toString())).isNull();
      UpdateEngine.Result r = engine.runOnce(false);
      assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
      assertThat(target.servedVersion()).isEqualTo("2.0.0");
      Trees.verify(target.homeDirs().version("2.0.0"), rel2.manifest().payload());
    }

    private static void reserve(TestTarget target, Path dir) throws Exception {
      target.repo.point("stable", target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY)));
      UpdateEngine engine = target.engine();
      assertThat(engine.runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
      Path reserve = target.homeDirs().state().resolve(DiskFull.RESERVE);
      assertThat(reserve).hasSize(DiskFull.RESERVE_BYTES);
      // Something else fills the disk to the last byte.
      Path filler = target.home.resolve("filler");
      try (OutputStream out = Files.newOutputStream(filler)) {
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < 64 * 16; i++) { // at most 64 MB: the file system has 8
          out.write(chunk);
        }
      } catch (IOException expected) {
        assertThat(DiskFull.isDiskFull(expected)).as(expected.toString()).isTrue();
      }
      Map<String, byte[]> files2 = new LinkedHashMap<>(TestTarget.files("2.0.0", HEALTHY));
      byte[] big = new byte[600 * 1024];
      new java.util.Random(7).nextBytes(big); // incompressible: more than the released reserve holds
      files2.put("lib/big.bin", big);
      target.repo.point("stable", target.repo.publish("2.0.0", 2, files2, "1.0.0"));

      UpdateEngine.Result r = engine.runOnce(false);

      // The update cannot go on, but its failure is journaled, kept in history and reported.
      assertThat(r.exitCode()).as(r.message()).isEqualTo(1);
      JournalRecord event = last(engine);
      assertThat(event.toVersion()).isEqualTo("2.0.0");
      assertThat(event.errorCode()).isEqualTo(r.code().name());
      assertThat(target.server.reports.values()).anyMatch(b -> b.contains("\"toVersion\":\"2.0.0\""));
      assertThat(target.servedVersion()).isEqualTo("1.0.0");

      Files.delete(filler);
      UpdateEngine.Result again = engine.runOnce(false);
      assertThat(again.outcome()).as(again.message()).isEqualTo(Outcome.COMMITTED);
      assertThat(target.servedVersion()).isEqualTo("2.0.0");
      assertThat(reserve).as("the reserve is back for the next full disk").hasSize(DiskFull.RESERVE_BYTES);
    }

    private static JournalRecord last(UpdateEngine engine) {
      List<JournalRecord> history = engine.journal().history();
      return history.get(history.size() - 1);
    }

    private static Path tree(Path dir, Map<String, byte[]> files) throws IOException {
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        Path f = dir.resolve(e.getKey());
        Files.createDirectories(f.getParent());
        Files.write(f, e.getValue());
      }
      return dir;
    }
  }
}
