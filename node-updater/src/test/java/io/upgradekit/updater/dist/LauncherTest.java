package io.upgradekit.updater.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/updater's class data archive and its "start me again" loop, with a stand-in for java that
 * logs its arguments (the real JVM is in SelfUpgradeIT and bench/updater.sh).
 */
@Timeout(60)
class LauncherTest {
  @TempDir
  Path tmp;

  /**
   * A fake java: logs "args..." to runs.log; writes the archive it is asked to record; exits with the
   * next status from statuses (one per line), 0 when none are left.
   */
  private Path fakeJava() throws Exception {
    Path java = tmp.resolve("java");
    if (Files.exists(java)) {
      return java; // rewritten, its new mtime would name another archive when a second has passed
    }
    Files.writeString(java, "#!/bin/sh\n"
        + "echo \"$*\" >> " + tmp.resolve("runs.log") + "\n"
        + "for a in \"$@\"; do case \"$a\" in -XX:ArchiveClassesAtExit=*) echo archive > \"${a#*=}\" ;; esac; done\n"
        + "s=$(head -1 " + tmp.resolve("statuses") + " 2>/dev/null); sed -i 1d " + tmp.resolve("statuses")
        + " 2>/dev/null\nexit ${s:-0}\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return java;
  }

  private Path install() throws Exception {
    Path home = tmp.resolve("updater");
    Files.createDirectories(home.resolve("lib"));
    Files.writeString(home.resolve("lib/node-updater.jar"), "a jar");
    return home;
  }

  private int launch(Path home, String... args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of("sh", Path.of("src/dist/bin/updater")
        .toAbsolutePath().toString()), Stream.of(args)).toList()).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("launcher.log").toFile());
    pb.environment().put("UPDATER_HOME", home.toString());
    pb.environment().put("JAVA", fakeJava().toString());
    pb.environment().remove("JAVA_HOME");
    pb.environment().remove("UPDATER_JAVA_OPTS");
    pb.environment().remove("UPDATER_CDS");
    Process p = pb.start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  private List<String> runs() throws Exception {
    return Files.readAllLines(tmp.resolve("runs.log"));
  }

  private List<Path> archives(Path home) throws Exception {
    try (Stream<Path> files = Files.list(home.resolve("tmp"))) {
      return files.toList();
    }
  }

  @Test
  void aDaemonStartWithoutAnArchiveRecordsOneWithARunOnceThenUsesIt() throws Exception {
    Path home = install();
    assertThat(launch(home, "run", "--config", "x.yaml")).isZero();

    List<String> runs = runs();
    assertThat(runs).hasSize(2);
    assertThat(runs.get(0)).contains("-XX:ArchiveClassesAtExit=" + home.resolve("tmp/node-updater-"))
        .endsWith("-jar " + home.resolve("lib/node-updater.jar") + " run --once --config x.yaml");
    assertThat(runs.get(1)).contains("-XX:SharedArchiveFile=" + home.resolve("tmp/node-updater-"))
        .doesNotContain("ArchiveClassesAtExit").endsWith(" run --config x.yaml");
    // The recording (a temp name) was renamed to the archive the daemon used.
    assertThat(archives(home)).singleElement().satisfies(a -> {
      assertThat(a.getFileName().toString()).matches("node-updater-\\d+\\.jsa");
      assertThat(runs.get(1)).contains("-XX:SharedArchiveFile=" + a + " ");
    });
    assertThat(Files.readString(tmp.resolve("launcher.log"))).contains("records it");

    // The next start uses the archive at once.
    Files.delete(tmp.resolve("runs.log"));
    assertThat(launch(home, "run")).isZero();
    assertThat(runs()).singleElement().asString().contains("-XX:SharedArchiveFile=").endsWith(" run");
  }

  @Test
  void otherCommandsNeitherRecordNorNeedAnArchiveAndANewJarRecordsANewOne() throws Exception {
    Path home = install();
    assertThat(launch(home, "status")).isZero();
    assertThat(runs()).singleElement().asString().doesNotContain("XX:SharedArchiveFile").doesNotContain("Archive");
    assertThat(launch(home, "run", "--once")).isZero();
    Path first = archives(home).get(0);

    Thread.sleep(1100); // a new mtime: another jar
    Files.writeString(home.resolve("lib/node-updater.jar"), "another jar");
    assertThat(launch(home, "run", "--once")).isZero();
    assertThat(archives(home)).singleElement().isNotEqualTo(first);
  }

  @Test
  void status75StartsTheAgentAgainAndAConfigurationErrorInTheRecordingRunStops() throws Exception {
    Path home = install();
    Files.writeString(tmp.resolve("statuses"), "0\n75\n0\n");
    assertThat(launch(home, "run")).isZero();
    assertThat(runs()).hasSize(3); // recording run, daemon (exits 75 after an update), daemon again
    assertThat(Files.readString(tmp.resolve("launcher.log"))).contains("status 75, starting the updater again");

    Path other = tmp.resolve("other");
    Files.createDirectories(other.resolve("lib"));
    Files.writeString(other.resolve("lib/node-updater.jar"), "a jar");
    Files.delete(tmp.resolve("runs.log"));
    Files.writeString(tmp.resolve("statuses"), "2\n");
    assertThat(launch(other, "run")).isEqualTo(2);
    assertThat(runs()).hasSize(1);
  }

  @Test
  void aSigtermToTheLauncherStopsTheJvmInsteadOfOrphaningIt() throws Exception {
    // systemd (KillMode=process) signals only the launcher, the unit's main process.
    Path home = install();
    Path java = tmp.resolve("java");
    Files.writeString(java, "#!/bin/sh\necho $$ > " + tmp.resolve("jvm.pid") + "\nsleep 30 &\n"
        + "trap 'echo TERM >> " + tmp.resolve("signals.log") + "; kill $!; exit 143' TERM\nwait $!\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder pb = new ProcessBuilder("sh", Path.of("src/dist/bin/updater").toAbsolutePath().toString(), "run")
        .redirectErrorStream(true).redirectOutput(tmp.resolve("launcher.log").toFile());
    pb.environment().put("UPDATER_HOME", home.toString());
    pb.environment().put("JAVA", java.toString());
    pb.environment().put("UPDATER_CDS", "off");
    pb.environment().remove("JAVA_HOME");
    Process launcher = pb.start();
    for (int i = 0; i < 500 && !Files.exists(tmp.resolve("jvm.pid")); i++) {
      Thread.sleep(10);
    }
    Thread.sleep(200); // the trap is set
    long jvm = Long.parseLong(Files.readString(tmp.resolve("jvm.pid")).strip());

    launcher.destroy(); // SIGTERM

    assertThat(launcher.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(launcher.exitValue()).isEqualTo(143);
    assertThat(Files.readString(tmp.resolve("signals.log"))).isEqualTo("TERM\n");
    assertThat(ProcessHandle.of(jvm).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  @Test
  void updaterCdsOffRunsWithoutAnArchive() throws Exception {
    Path home = install();
    ProcessBuilder pb = new ProcessBuilder("sh", Path.of("src/dist/bin/updater").toAbsolutePath().toString(), "run")
        .redirectErrorStream(true).redirectOutput(tmp.resolve("launcher.log").toFile());
    pb.environment().put("UPDATER_HOME", home.toString());
    pb.environment().put("JAVA", fakeJava().toString());
    pb.environment().put("UPDATER_CDS", "off");
    pb.environment().remove("JAVA_HOME");
    Process p = pb.start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(runs()).singleElement().asString().doesNotContain("Archive").endsWith(" run");
  }

  @Test
  void anotherUpdaterWorkingStopsTheLauncherAfterItsRecordingRun() throws Exception {
    Path home = install();
    Files.writeString(tmp.resolve("statuses"), "4\n");
    assertThat(launch(home, "run")).isEqualTo(4);
    assertThat(runs()).as("no daemon after the recording run said 'locked'").hasSize(1);
  }

  @Test
  void aSelfPreviousThatIsNoVersionNameIsNeverFollowed() throws Exception {
    Path home = install();
    for (String v : List.of("1.0.0", "2.0.0")) {
      Files.createDirectories(home.resolve("versions/" + v + "/lib"));
      Files.writeString(home.resolve("versions/" + v + "/lib/node-updater.jar"), "a jar");
    }
    Files.createSymbolicLink(home.resolve("current"), Path.of("versions/2.0.0"));
    Files.createDirectories(home.resolve("state"));
    Files.writeString(home.resolve("state/self-previous"), "../..");
    Files.writeString(tmp.resolve("statuses"), "1\n0\n");

    // The new version "cannot start" (status 1 at once): a damaged self-previous must not be switched to.
    assertThat(launch(home, "run", "--once")).isEqualTo(1);
    assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions/2.0.0"));
    assertThat(runs()).hasSize(1);

    Files.writeString(home.resolve("state/self-previous"), "1.0.0");
    Files.writeString(tmp.resolve("statuses"), "1\n0\n");
    assertThat(launch(home, "run", "--once")).isZero();
    assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions/1.0.0"));
  }

  /** A fake java that logs what its standard input is and what it was told about sockets. */
  private Path socketJava() throws Exception {
    Path java = tmp.resolve("socket-java");
    Files.writeString(java, "#!/bin/sh\n"
        + "echo \"$(readlink /proc/$$/fd/0) listen=${UPDATER_LISTEN:-} fds=${LISTEN_FDS:-}\" >> " + tmp.resolve("fd0.log")
        + "\ns=$(head -1 " + tmp.resolve("statuses") + " 2>/dev/null); sed -i 1d " + tmp.resolve("statuses")
        + " 2>/dev/null\nexit ${s:-0}\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return java;
  }

  private ProcessBuilder launcher(Path home, List<String> prefix, String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(prefix);
    command.addAll(List.of("sh", Path.of("src/dist/bin/updater").toAbsolutePath().toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("launcher.log").toFile());
    pb.environment().put("UPDATER_HOME", home.toString());
    pb.environment().put("JAVA", socketJava().toString());
    pb.environment().put("UPDATER_CDS", "off");
    pb.environment().remove("JAVA_HOME");
    pb.environment().remove("UPDATER_JAVA_OPTS");
    return pb;
  }

  private static int freePort() throws Exception {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void updaterListenBindsTheSocketAndEveryJvmGetsItAsStandardInput() throws Exception {
    Path home = install();
    int port = freePort();
    Files.writeString(tmp.resolve("statuses"), "75\n0\n"); // a fresh JVM after an update, then done
    ProcessBuilder pb = launcher(home, List.of(), "run", "--once");
    pb.environment().put("UPDATER_LISTEN", "127.0.0.1:" + port);
    Process p = pb.start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(tmp.resolve("launcher.log"))).isZero();

    List<String> runs = Files.readAllLines(tmp.resolve("fd0.log"));
    assertThat(runs).hasSize(2);
    assertThat(runs.get(0)).matches("socket:\\[\\d+\\] listen= fds=");
    assertThat(runs.get(1)).as("the relaunched JVM gets the same socket").isEqualTo(runs.get(0));
  }

  @Test
  void updaterListenOnATakenPortIsAConfigurationErrorAndOtherCommandsDoNotBind() throws Exception {
    Path home = install();
    try (java.net.ServerSocket taken = new java.net.ServerSocket()) {
      taken.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      ProcessBuilder run = launcher(home, List.of(), "run");
      run.environment().put("UPDATER_LISTEN", "127.0.0.1:" + taken.getLocalPort());
      Process p = run.start();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(2);
      assertThat(Files.readString(tmp.resolve("launcher.log"))).contains("updater launcher: cannot listen on 127.0.0.1:"
          + taken.getLocalPort() + " (UPDATER_LISTEN): Address already in use; a running service process may still "
          + "hold the socket of an earlier launcher");
      assertThat(tmp.resolve("fd0.log")).doesNotExist();

      ProcessBuilder status = launcher(home, List.of(), "status");
      status.environment().put("UPDATER_LISTEN", "127.0.0.1:" + taken.getLocalPort());
      Process s = status.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      assertThat(s.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(s.exitValue()).isZero();
      assertThat(Files.readString(tmp.resolve("fd0.log")).strip()).isEqualTo("/dev/null listen=127.0.0.1:"
          + taken.getLocalPort() + " fds=");
    }
    ProcessBuilder bad = launcher(home, List.of(), "rollback");
    bad.environment().put("UPDATER_LISTEN", "localhost:http");
    Process p = bad.start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(Files.readString(tmp.resolve("launcher.log"))).contains("UPDATER_LISTEN is \"localhost:http\": write "
        + "HOST:PORT");
  }

  @Test
  void systemdsSocketOnDescriptorThreeBecomesStandardInput() throws Exception {
    Path home = install();
    int port = freePort();
    socketJava();
    // systemd-socket-activate is systemd's own tool for this protocol (LISTEN_FDS=1, LISTEN_PID, fd 3);
    // before systemd 258 it runs the program at the first connection.
    Process p = launcher(home, List.of("systemd-socket-activate", "-l", "127.0.0.1:" + port,
        "-E", "UPDATER_HOME=" + home, "-E", "JAVA=" + tmp.resolve("socket-java"), "-E", "UPDATER_CDS=off"),
        "run", "--once").start();
    for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); !Files.exists(tmp.resolve("fd0.log")); ) {
      try (java.net.Socket poke = new java.net.Socket("127.0.0.1", port)) {
        assertThat(poke.isConnected()).isTrue();
      } catch (java.net.ConnectException e) {
        // not listening yet
      }
      assertThat(System.nanoTime()).as(Files.readString(tmp.resolve("launcher.log"))).isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(tmp.resolve("launcher.log"))).isZero();
    assertThat(Files.readString(tmp.resolve("fd0.log")).strip()).as("LISTEN_FDS is not passed on to the service")
        .matches("socket:\\[\\d+\\] listen= fds=");
  }
}
