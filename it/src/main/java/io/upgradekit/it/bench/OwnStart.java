package io.upgradekit.it.bench;

import io.upgradekit.it.HarnessException;
import io.upgradekit.it.ManagedProcess;
import io.upgradekit.it.Node;
import io.upgradekit.it.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference for the {@code restart} strategy's gap: how long hello-service itself takes to
 * start, measured beside a node's running service, at the same moment and with the same launcher,
 * environment and JVM flags as the updater uses.
 *
 * <p>It execs the node's {@code current/bin/hello-service} (the updater's command) on a free port,
 * with the running service's exact environment (read from {@code /proc/<pid>/environ}: the same
 * {@code JAVA}, {@code JAVA_OPTS}, {@code MALLOC_ARENA_MAX} ...) and a port file of its own, and
 * times exec → the first {@code 200} on {@code GET /health} (one attempt every 2 ms, each on a new
 * connection, as the load generator sees a service come up). Then SIGTERM → exit, idle: the drain
 * of a service with no connection open.
 */
public final class OwnStart {
  private OwnStart() {}

  /**
   * @param toHealthy exec of {@code bin/hello-service} → first 200 on {@code /health}
   * @param toExit SIGTERM → the process exited (no load on it)
   * @param jvmFlags the JVM options of the java command the script ran ({@code /proc/<pid>/cmdline})
   */
  public record Result(Duration toHealthy, Duration toExit, String jvmFlags) {}

  /** Measures once beside {@code node}'s running service; {@code logFile} receives the service's output. */
  public static Result measure(Node node, Path scratch, Path logFile) {
    List<Long> pids = node.servicePids();
    if (pids.isEmpty()) {
      throw new HarnessException(node.id() + ": no service runs, so there is no environment to copy");
    }
    Map<String, String> environment = environment(pids.get(pids.size() - 1));
    Path portFile = scratch.resolve("own-start-" + System.nanoTime() + ".port");
    environment.put("UPGRADEKIT_PORT_FILE", portFile.toString());
    // ManagedProcess adds to the harness's environment: remove what the service's does not have.
    Map<String, String> exact = new LinkedHashMap<>();
    System.getenv().keySet().forEach(k -> exact.put(k, null));
    exact.putAll(environment);
    int port = Ports.freeLoopbackPort();
    List<String> command = List.of(node.home().resolve("current/bin/hello-service").toString(), "--port",
        Integer.toString(port));

    long exec = System.nanoTime();
    ManagedProcess service = ManagedProcess.start("hello-service (own start)", command, exact, node.home(), logFile);
    try {
      long deadline = exec + Duration.ofSeconds(60).toNanos();
      while (!healthy(port)) {
        if (!service.isAlive()) {
          throw new HarnessException("hello-service exited before it answered /health; " + service.describeLog());
        }
        if (System.nanoTime() > deadline) {
          throw new HarnessException("hello-service did not answer /health within 60 s; " + service.describeLog());
        }
        sleepMillis(2);
      }
      Duration toHealthy = Duration.ofNanos(System.nanoTime() - exec);
      String flags = jvmFlags(service.pid());
      long term = System.nanoTime();
      ProcessHandle.of(service.pid()).ifPresent(ProcessHandle::destroy);
      if (service.awaitExit(Duration.ofSeconds(30)) < 0) {
        throw new HarnessException("hello-service did not exit within 30 s of SIGTERM; " + service.describeLog());
      }
      return new Result(toHealthy, Duration.ofNanos(System.nanoTime() - term), flags);
    } finally {
      service.close();
      try {
        Files.deleteIfExists(portFile);
      } catch (IOException e) {
        // a scratch file in the workspace
      }
    }
  }

  /** One {@code GET /health} on a new connection: true for a 200. */
  static boolean healthy(int port) {
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(2_000);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] head = in.readNBytes(12);
      return new String(head, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200");
    } catch (IOException e) {
      return false;
    }
  }

  private static Map<String, String> environment(long pid) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String pair : nulSeparated(Path.of("/proc", Long.toString(pid), "environ"))) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        env.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
    }
    if (env.isEmpty()) {
      throw new HarnessException("cannot read the environment of pid " + pid + " from /proc");
    }
    return env;
  }

  /** The options between {@code java} and {@code -cp} of a JVM's command line. */
  static String jvmFlags(long pid) {
    List<String> args = nulSeparated(Path.of("/proc", Long.toString(pid), "cmdline"));
    List<String> flags = new ArrayList<>();
    for (int i = 1; i < args.size(); i++) {
      if (args.get(i).equals("-cp") || args.get(i).equals("-classpath") || !args.get(i).startsWith("-")) {
        break;
      }
      flags.add(args.get(i));
    }
    return String.join(" ", flags);
  }

  private static List<String> nulSeparated(Path file) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      List<String> out = new ArrayList<>();
      int start = 0;
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == 0) {
          out.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
          start = i + 1;
        }
      }
      if (start < bytes.length) {
        out.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
      }
      return out;
    } catch (IOException e) {
      return List.of();
    }
  }

  private static void sleepMillis(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }
}
