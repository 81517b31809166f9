package io.upgradekit.examples.hello;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The service's side of the Upgradekit updater's start gate ({@code service.startGate} with the
 * {@code restart} strategy): the updater starts the new version while the old one still serves,
 * naming a directory in {@code UPGRADEKIT_START_GATE}. The new version does all its starting (JVM,
 * classes, Jetty, handlers), then says so by creating {@code ready} there, and accepts connections
 * only once the updater, having stopped the old version, creates {@code open}. The restart's gap is
 * then the old version's drain and the first accept, not a JVM start.
 *
 * <p>If the gate does not open within {@code UPGRADEKIT_START_GATE_TIMEOUT} seconds the updater is
 * gone or gave up, and the service exits rather than wait forever beside the old version.
 */
final class StartGate {
  static final String VARIABLE = "UPGRADEKIT_START_GATE";
  static final String TIMEOUT_VARIABLE = "UPGRADEKIT_START_GATE_TIMEOUT";
  /** Without a timeout from the updater: long past any stop it could be waiting for. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
  /** Each millisecond between the gate opening and the first accept is downtime; a stat() is cheap. */
  private static final long POLL_MILLIS = 2;

  private final Path dir;
  private final Duration timeout;

  StartGate(Path dir, Duration timeout) {
    this.dir = dir;
    this.timeout = timeout;
  }

  /** The gate the updater named, or null when this process was started without one. */
  static StartGate fromEnvironment(Map<String, String> env) {
    String dir = env.get(VARIABLE);
    if (dir == null || dir.isBlank()) {
      return null;
    }
    String seconds = env.get(TIMEOUT_VARIABLE);
    Duration timeout = DEFAULT_TIMEOUT;
    if (seconds != null && !seconds.isBlank()) {
      try {
        timeout = Duration.ofSeconds(Long.parseLong(seconds.strip()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(TIMEOUT_VARIABLE + " is '" + seconds + "': whole seconds expected");
      }
    }
    return new StartGate(Path.of(dir), timeout);
  }

  Path dir() {
    return dir;
  }

  /** Tells the updater this process could accept now: it may stop the old version. */
  void ready() throws IOException {
    Path temp = dir.resolve("ready.tmp");
    Files.write(temp, Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII));
    Files.move(temp, dir.resolve("ready"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Waits until the updater opens the gate.
   *
   * @throws IllegalStateException when it does not within the timeout
   */
  void awaitOpen() throws InterruptedException {
    Path open = dir.resolve("open");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.exists(open)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the start gate " + dir + " did not open within " + timeout.toMillis()
            + " ms (" + TIMEOUT_VARIABLE + "): the updater that started this process is gone or gave up");
      }
      Thread.sleep(POLL_MILLIS);
    }
  }
}
