package io.upgradekit.updater.dist;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.updater.engine.Home;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestRepoServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Self-upgrade end to end with the real distribution: {@code bin/updater} and the shaded {@code
 * lib/node-updater.jar} from the dist tarball, installed as an updater home with {@code
 * service.strategy: self}, updating itself to real jars (the same jar with another version in its
 * {@code version.properties}) through real deltas; then to a jar that cannot start, from which the
 * launcher falls back. Runs after {@code package} (failsafe).
 */
@Timeout(120)
class SelfUpgradeIT {
  private static final String VERSION_RESOURCE = "io/upgradekit/updater/cli/version.properties";

  @TempDir
  Path tmp;

  @Test
  void theRealUpdaterUpgradesItselfThroughStatus75AndFallsBackFromAJarThatCannotStart() throws Exception {
    Path home = tmp.resolve("updater");
    install(distTarball(), home);
    Path jar = home.resolve("lib/node-updater.jar");
    TestRepo repo = new TestRepo(tmp.resolve("repo"));
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      Path config = tmp.resolve("updater.yaml");
      Files.writeString(config, "repository:\n  url: " + server.base() + "\n  trustRoot: " + repo.pinnedRoot()
          + "\napp: demo\nchannel: stable\nhome: " + home + "\nnode:\n  id: node-1\n"
          + "limits:\n  requestTimeout: 10s\n  stallTimeout: 10s\n  minFreeDisk: 1MB\n"
          + "service:\n  strategy: self\n");

      // 1.0.0 from the plain install (lib/node-updater.jar, whose version is the build's).
      Path v1 = tree("1.0.0", withVersion(jar, "1.0.0"));
      TestRepo.Release r1 = publish(repo, "1.0.0", 1, v1, null);
      repo.point("stable", r1);
      Run first = run(home, config, "run", "--once");
      assertThat(first.status).as(first.output).isZero();
      assertThat(first.output).contains("exiting with status 75").contains("status 75, starting the updater again (versions/1.0.0)");
      assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions/1.0.0"));
      assertThat(run(home, config, "--version").output).contains("updater 1.0.0");
      // bin/updater recorded a class data archive of the jar that ran last (and only of that one).
      assertThat(archives(home)).singleElement().asString().matches(".*/tmp/node-updater-\\d+\\.jsa");
      assertThat(lastEvent(home)).satisfies(e -> {
        assertThat(e.outcome()).isEqualTo(Outcome.COMMITTED);
        assertThat(e.toVersion()).isEqualTo("1.0.0");
      });

      // 2.0.0 through a delta: 1.0.0 stages and switches, exits 75, the launcher runs 2.0.0, which commits.
      Path v2 = tree("2.0.0", withVersion(jar, "2.0.0"));
      TestRepo.Release r2 = publish(repo, "2.0.0", 2, v2, v1);
      repo.point("stable", r2);
      server.blobPaths.clear();
      Run second = run(home, config, "run", "--once");
      assertThat(second.status).as(second.output).isZero();
      assertThat(second.output).contains("exiting with status 75").contains("status 75, starting the updater again (versions/2.0.0)")
          .contains("now running 2.0.0");
      assertThat(server.blobPaths).singleElement().asString()
          .endsWith(r2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256());
      assertThat(run(home, config, "--version").output).contains("updater 2.0.0");
      assertThat(run(home, config, "status", "--json").output).contains("\"current\":\"2.0.0\"")
          .contains("\"previous\":\"1.0.0\"");
      JournalRecord committed = lastEvent(home);
      assertThat(committed.outcome()).isEqualTo(Outcome.COMMITTED);
      assertThat(committed.fromVersion()).isEqualTo("1.0.0");
      assertThat(committed.steps()).extracting(s -> s.state()).containsSubsequence("SWITCH", "START", "VERIFY",
          "COMMIT");

      // 3.0.0 cannot start (a damaged jar): the launcher switches back, 2.0.0 reports the rollback.
      Path broken = tmp.resolve("broken.jar");
      try (InputStream in = Files.newInputStream(jar)) {
        Files.write(broken, in.readNBytes(64 * 1024)); // no central directory: not a jar
      }
      Path v3 = tree("3.0.0", broken);
      TestRepo.Release r3 = publish(repo, "3.0.0", 3, v3, null);
      repo.point("stable", r3);
      Run third = run(home, config, "run", "--once");
      assertThat(third.output).contains("exiting with status 75").contains("status 75, starting the updater again (versions/3.0.0)")
          .contains("switched back to 2.0.0");
      assertThat(third.status).as(third.output).isEqualTo(5);
      assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions/2.0.0"));
      assertThat(run(home, config, "--version").output).contains("updater 2.0.0");
      JournalRecord rolledBack = lastEvent(home);
      assertThat(rolledBack.outcome()).isEqualTo(Outcome.ROLLED_BACK);
      assertThat(rolledBack.errorCode()).isEqualTo(ErrorCode.START_FAILED.name());
      assertThat(rolledBack.toVersion()).isEqualTo("3.0.0");
      assertThat(NodeState.read(new Home(home).nodeFile()).badReleases()).containsExactly("3.0.0");
      assertThat(home.resolve("state/self-previous")).doesNotExist();
      assertThat(server.reports.values()).anySatisfy(r -> assertThat(r).contains("\"outcome\":\"ROLLED_BACK\"")
          .contains("START_FAILED").contains("\"toVersion\":\"3.0.0\""));

      // 3.0.0 is bad here: the next run stays on 2.0.0.
      Run fourth = run(home, config, "run", "--once");
      assertThat(fourth.status).as(fourth.output).isZero();
      assertThat(fourth.output).doesNotContain("status 75");
    }
  }

  @Test
  void aSignalToTheLauncherStopsTheAgentJvm() throws Exception {
    // systemd's KillMode=process signals only bin/updater: the daemon JVM must stop with it.
    Path home = tmp.resolve("updater");
    install(distTarball(), home);
    TestRepo repo = new TestRepo(tmp.resolve("repo"));
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      Path config = tmp.resolve("updater.yaml");
      Files.writeString(config, "repository:\n  url: " + server.base() + "\n  trustRoot: " + repo.pinnedRoot()
          + "\napp: demo\nchannel: stable\nhome: " + home + "\nnode:\n  id: node-1\npoll:\n  interval: 1s\n"
          + "  jitter: 100ms\nservice:\n  strategy: self\n");
      ProcessBuilder builder = new ProcessBuilder("sh", home.resolve("bin/updater").toString(), "run")
          .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile());
      builder.environment().put("JAVA", ProcessHandle.current().info().command().orElse("java"));
      builder.environment().put("UPGRADEKIT_CONFIG", config.toString());
      builder.environment().put("UPDATER_CDS", "off");
      Process launcher = builder.start();
      try {
        ProcessHandle jvm = awaitChildJvm(launcher);

        launcher.destroy(); // SIGTERM to the launcher only

        assertThat(launcher.waitFor(30, TimeUnit.SECONDS)).as(Files.readString(tmp.resolve("daemon.log"))).isTrue();
        assertThat(launcher.exitValue()).isEqualTo(143);
        assertThat(jvm.onExit().get(10, TimeUnit.SECONDS).isAlive()).isFalse();
      } finally {
        launcher.descendants().forEach(ProcessHandle::destroyForcibly);
        launcher.destroyForcibly();
      }
    }
  }

  private static ProcessHandle awaitChildJvm(Process launcher) throws InterruptedException {
    for (int i = 0; i < 300; i++) {
      var jvm = launcher.children().filter(c -> c.info().command().orElse("").endsWith("java")).findFirst();
      if (jvm.isPresent()) {
        Thread.sleep(1000); // let the agent start polling
        return jvm.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("bin/updater started no JVM");
  }

  private record Run(int status, String output) {}

  /** Runs {@code bin/updater} of the installed home as a real process (the launcher's loop included). */
  private Run run(Path home, Path config, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("sh", home.resolve("bin/updater").toString()));
    command.addAll(List.of(args));
    Path log = Files.createTempFile(tmp, "run", ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().remove("JAVA_HOME");
    builder.environment().remove("UPDATER_JAVA_OPTS");
    builder.environment().put("JAVA", ProcessHandle.current().info().command().orElse("java"));
    builder.environment().put("UPGRADEKIT_CONFIG", config.toString());
    Process p = builder.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("bin/updater " + String.join(" ", args) + " did not finish in 60 s:\n"
          + Files.readString(log));
    }
    String output = Files.readString(log);
    System.out.println("$ bin/updater " + String.join(" ", args) + " -> " + p.exitValue() + "\n" + output);
    return new Run(p.exitValue(), output);
  }

  private static List<Path> archives(Path home) throws IOException {
    try (Stream<Path> files = Files.list(home.resolve("tmp"))) {
      return files.filter(f -> f.getFileName().toString().endsWith(".jsa")).toList();
    }
  }

  private static JournalRecord lastEvent(Path home) {
    Home h = new Home(home);
    List<JournalRecord> history = new Journal(h.journal(), h.history()).history();
    return history.get(history.size() - 1);
  }

  private static Path distTarball() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("target"))) {
      return files.filter(f -> f.getFileName().toString().matches("node-updater-.*-dist\\.tar\\.gz")).findFirst()
          .orElseThrow(() -> new AssertionError("no target/node-updater-*-dist.tar.gz: run 'mvn verify', which "
              + "packages before this test"));
    }
  }

  /** Unpacks the distribution as an operator does (its top directory becomes the updater home). */
  private static void install(Path tarball, Path home) throws Exception {
    Files.createDirectories(home);
    Process tar = new ProcessBuilder("tar", "-xzf", tarball.toAbsolutePath().toString(), "-C", home.toString(),
        "--strip-components=1").inheritIO().start();
    assertThat(tar.waitFor()).isZero();
    assertThat(home.resolve("bin/updater")).isExecutable();
    assertThat(home.resolve("lib/node-updater.jar")).isRegularFile();
  }

  /** A version tree of the updater: {@code lib/node-updater.jar}. */
  private Path tree(String version, Path jar) throws IOException {
    Path dir = tmp.resolve("trees/" + version);
    Files.createDirectories(dir.resolve("lib"));
    Files.copy(jar, dir.resolve("lib/node-updater.jar"));
    return dir;
  }

  /** Publishes a tree with the real delta engine: the full package, and a delta from {@code base}. */
  private TestRepo.Release publish(TestRepo repo, String version, long sequence, Path tree, Path base)
      throws IOException {
    Path pkg = tmp.resolve("blobs/" + version + ".pkg");
    Files.createDirectories(pkg.getParent());
    DeltaBuilder.DiffResult full = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, tree, pkg));
    Map<String, byte[]> deltas = Map.of();
    if (base != null) {
      Path delta = tmp.resolve("blobs/" + version + ".delta");
      DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(base, tree, delta));
      deltas = Map.of(base.getFileName().toString(), Files.readAllBytes(delta));
    }
    return repo.publishBuilt(version, sequence, full.target(), Files.readAllBytes(pkg), deltas);
  }

  /** The jar with another version in its version.properties; every other entry is copied as it is. */
  private Path withVersion(Path jar, String version) throws IOException {
    Path out = tmp.resolve("jars/node-updater-" + version + ".jar");
    Files.createDirectories(out.getParent());
    try (ZipFile in = new ZipFile(jar.toFile()); OutputStream file = Files.newOutputStream(out);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
        ZipEntry entry = entries.nextElement();
        byte[] bytes;
        try (InputStream data = in.getInputStream(entry)) {
          bytes = data.readAllBytes();
        }
        if (entry.getName().equals(VERSION_RESOURCE)) {
          bytes = ("version=" + version + "\n").getBytes(StandardCharsets.ISO_8859_1);
        }
        ZipEntry copy = new ZipEntry(entry.getName());
        copy.setTime(entry.getTime());
        copy.setMethod(entry.getMethod());
        if (entry.getMethod() == ZipEntry.STORED) {
          CRC32 crc = new CRC32();
          crc.update(bytes);
          copy.setSize(bytes.length);
          copy.setCompressedSize(bytes.length);
          copy.setCrc(crc.getValue());
        }
        zip.putNextEntry(copy);
        zip.write(bytes);
        zip.closeEntry();
      }
    }
    return out;
  }
}
