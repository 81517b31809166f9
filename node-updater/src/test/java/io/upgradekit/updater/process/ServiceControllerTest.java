package io.upgradekit.updater.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The private port of a started process, as it reports it through UPGRADEKIT_PORT_FILE. */
@Timeout(60)
class ServiceControllerTest {
  @TempDir
  Path tmp;

  private ServiceController controller;

  @AfterEach
  void stop() {
    if (controller != null) {
      controller.stopAll();
    }
  }

  private ServiceController controller(List<String> command) {
    return controller(command, Map.of());
  }

  private ServiceController controller(List<String> command, Map<String, String> environment) {
    return controller(command, environment, null);
  }

  private ServiceController controller(List<String> command, Map<String, String> environment, Duration startGate) {
    UpdaterConfig.Service service = new UpdaterConfig.Service(UpdaterConfig.Strategy.RESTART,
        new UpdaterConfig.ProcessSpec(command, tmp, environment), null, null, null, Duration.ofSeconds(5),
        Duration.ofMillis(100), null, startGate);
    controller = new ServiceController(service, tmp.resolve("state/service.json"), tmp.resolve("state/service.log"),
        tmp, line -> { });
    return controller;
  }

  @Test
  void eachStartedProcessGetsItsOwnPortFileWhichIsReadAndDeletedWhenItStops() throws Exception {
    // The "service" reports the file it was given, then waits.
    ServiceController c = controller(List.of("sh", "-c", "echo \"$UPGRADEKIT_PORT_FILE\" > given; exec sleep 30"));
    c.start("1.0.0");
    ProcessPort before = c.privatePort("1.0.0");
    assertThat(before.known()).isFalse();
    assertThat(before.addressable()).isTrue();
    assertThat(before.problem()).contains("(1.0.0) has not written its private port to").contains("UPGRADEKIT_PORT_FILE");

    Path given = Path.of(waitForContent(tmp.resolve("given")).strip());
    assertThat(given.getParent()).isEqualTo(tmp.resolve("state"));
    assertThat(given.getFileName().toString()).matches("process-[0-9a-f]{12}\\.port");
    Files.writeString(given, "port?");
    assertThat(c.privatePort("1.0.0").problem()).contains("wrote 'port?'").contains("not a port number");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(given.toFile(), "rw")) {
      f.setLength(8L << 30); // a port file that never ends is read no further than a port number's length
    }
    assertThat(c.privatePort("1.0.0").problem()).contains("cannot read").contains("holds more than 64 bytes");
    Files.writeString(given, "41234\n");
    assertThat(c.privatePort("1.0.0")).isEqualTo(ProcessPort.known("1.0.0", 41234));
    assertThat(c.privatePort("2.0.0").problem()).isEqualTo("no process of 2.0.0 is running");

    c.stopAll();
    assertThat(given).doesNotExist();
    try (Stream<Path> files = Files.list(tmp.resolve("state"))) {
      assertThat(files.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith("process-"));
    }
  }

  @Test
  void aChangedConfigurationReachesTheNextStart() throws Exception {
    List<String> command = List.of("sh", "-c", "echo \"$GREETING\" > greeting; exec sleep 30");
    ServiceController first = controller(command, Map.of("GREETING", "hello"));
    first.start("1.0.0");
    awaitContent(tmp.resolve("greeting"), "hello\n");
    first.stopAll();

    // The operator edits service.process.environment; the updater restarts (a new controller).
    ServiceController second = controller(command, Map.of("GREETING", "bonjour"));
    second.start("1.0.0");
    awaitContent(tmp.resolve("greeting"), "bonjour\n");
    assertThat(second.record().environment()).containsEntry("GREETING", "bonjour");
  }

  private static void awaitContent(Path file, String content) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!Files.exists(file) || !Files.readString(file).equals(content)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(file + " does not say " + content.strip() + " within 20 s");
      }
      Thread.sleep(20);
    }
  }

  @Test
  void aStoppedServiceThatNobodyReapsCountsAsGone() throws Exception {
    // As after an update, when the updater runs in a fresh JVM: the service is not its child, and
    // once it exits it stays a zombie until its parent (here a sleep that never waits) reaps it.
    Path pidFile = tmp.resolve("service.pid");
    List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    UpdaterConfig.Service service = new UpdaterConfig.Service(UpdaterConfig.Strategy.RESTART, null,
        List.of("sh", "-c", "(sh -c 'sleep 60 & echo $! > service.pid; exec sleep 120' >/dev/null 2>&1 &)"), null,
        pidFile, Duration.ofSeconds(5), Duration.ofMillis(100), null, null);
    ServiceController c = new ServiceController(service, tmp.resolve("state/service.json"),
        tmp.resolve("state/service.log"), tmp, lines::add);
    c.start("1.0.0");
    long pid = Long.parseLong(waitForContent(pidFile).strip());
    ProcessHandle serviceProcess = ProcessHandle.of(pid).orElseThrow();
    ProcessHandle nonReaper = serviceProcess.parent().orElseThrow();
    try {
      assertThat(nonReaper.pid()).isNotEqualTo(ProcessHandle.current().pid());
      assertThat(c.isRunning()).isTrue();

      c.stopAll(); // before: STOP_FAILED, "still running after SIGKILL", as the JDK counts a zombie alive

      assertThat(lines).contains("stopped pid " + pid).noneMatch(l -> l.contains("killing"));
      assertThat(Files.readString(Path.of("/proc/" + pid + "/stat"))).as("still a zombie").contains(") Z ");
    } finally {
      nonReaper.destroyForcibly();
    }
  }

  /** A service that supports the gate: ready, then waits for it to open, then "accepts" (a file per version). */
  private static final String GATED_SERVICE = "echo \"$UPGRADEKIT_START_GATE_TIMEOUT\" > timeout-$UPGRADEKIT_VERSION; "
      + "sleep 0.2; touch \"$UPGRADEKIT_START_GATE/ready\"; "
      + "while [ ! -e \"$UPGRADEKIT_START_GATE/open\" ]; do sleep 0.01; done; "
      + "touch accepting-$UPGRADEKIT_VERSION; exec sleep 30";

  @Test
  @Timeout(30)
  void aGatedStartReturnsOnceTheNewVersionIsReadyAndItAcceptsOnlyAfterTheOldOneStoppedAndTheGateOpened()
      throws Exception {
    List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    UpdaterConfig.Service service = new UpdaterConfig.Service(UpdaterConfig.Strategy.RESTART,
        new UpdaterConfig.ProcessSpec(List.of("sh", "-c", GATED_SERVICE), tmp, Map.of()), null, null, null,
        Duration.ofSeconds(5), Duration.ofMillis(100), null, Duration.ofSeconds(10));
    ServiceController c = new ServiceController(service, tmp.resolve("state/service.json"),
        tmp.resolve("state/service.log"), tmp, lines::add);
    controller = c;
    c.startGated("1.0.0").open();
    waitForFile(tmp.resolve("accepting-1.0.0"));

    ServiceController.StartGate gate = c.startGated("2.0.0");
    assertThat(c.runningVersions()).as("the old version serves while the new one waits").contains("1.0.0", "2.0.0");
    Thread.sleep(100);
    assertThat(tmp.resolve("accepting-2.0.0")).as("waits at its gate").doesNotExist();
    assertThat(Long.parseLong(Files.readString(tmp.resolve("timeout-2.0.0")).strip()))
        .as("it gives up by itself only after the old version's stop and kill could have ended").isGreaterThan(15);

    c.stopAllBut("2.0.0");
    gate.open();
    waitForFile(tmp.resolve("accepting-2.0.0"));
    assertThat(c.runningVersions()).containsExactly("2.0.0");
    assertThat(lines).anyMatch(l -> l.contains("2.0.0") && l.contains("is ready at its start gate"))
        .anyMatch(l -> l.startsWith("opened the start gate of 2.0.0"));
    try (Stream<Path> gates = Files.list(tmp.resolve("state"))) {
      assertThat(gates.filter(p -> p.getFileName().toString().endsWith(".gate"))).as("the first start's gate is gone")
          .hasSize(1);
    }
  }

  @Test
  @Timeout(30)
  void aServiceThatIsNotReadyAtItsGateInTimeIsStoppedAndTheStartFailsSayingWhatTheGateNeeds() {
    ServiceController c = controller(List.of("sh", "-c", "exec sleep 30"), Map.of(), Duration.ofMillis(300));
    assertThatThrownBy(() -> c.startGated("1.0.0"))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.START_FAILED))
        .hasMessageContaining("was not ready at its start gate within 300 ms (service.startGate)")
        .hasMessageContaining("UPGRADEKIT_START_GATE");
    assertThat(c.runningVersions()).isEmpty();
  }

  @Test
  @Timeout(30)
  void aServiceThatExitsBeforeItIsReadyFailsTheStart() {
    ServiceController c = controller(List.of("sh", "-c", "exit 3"), Map.of(), Duration.ofSeconds(10));
    assertThatThrownBy(() -> c.startGated("1.0.0"))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.START_FAILED))
        .hasMessageContaining("exited with status 3 before it was ready at its start gate");
  }

  private static void waitForFile(Path file) throws Exception {
    for (int i = 0; i < 500 && !Files.exists(file); i++) {
      Thread.sleep(10);
    }
    assertThat(file).exists();
  }

  private static String waitForContent(Path file) throws Exception {
    for (int i = 0; i < 500; i++) {
      if (Files.exists(file) && Files.size(file) > 0) {
        return Files.readString(file);
      }
      Thread.sleep(10);
    }
    throw new AssertionError(file + " was never written");
  }
}
