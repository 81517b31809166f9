package io.upgradekit.updater.testsupport;

import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.process.ServiceController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * An updater's process handling in a JVM of its own, started with a listening socket on its standard
 * input (as bin/updater starts the updater): a {@link ServiceController} with {@code service.socket}
 * that starts and stops the service when told. The test writes {@code cmd-<n>} files ({@code start
 * VERSION}, {@code stop}, {@code exit}) into the directory; each is answered with {@code
 * done-<n>}: {@code ok}, or the error.
 *
 * <p>Usage: {@code HandoverDriver DIR PORT stdin|listen-fds COMMAND...}
 */
public final class HandoverDriver {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    UpdaterConfig.Socket socket = new UpdaterConfig.Socket("127.0.0.1", Integer.parseInt(args[1]),
        args[2].equals("stdin") ? UpdaterConfig.Pass.STDIN : UpdaterConfig.Pass.LISTEN_FDS);
    List<String> command = Arrays.asList(args).subList(3, args.length);
    UpdaterConfig.Service service = new UpdaterConfig.Service(UpdaterConfig.Strategy.RESTART,
        new UpdaterConfig.ProcessSpec(command, dir, Map.of()), null, null, null, Duration.ofSeconds(10),
        Duration.ofMillis(100), socket, null);
    ServiceController controller = new ServiceController(service, dir.resolve("state/service.json"),
        dir.resolve("state/service.log"), dir, System.out::println);
    Files.writeString(dir.resolve("driver-stdin"), Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString());
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    for (int n = 1; System.nanoTime() < deadline; n++) {
      Path cmd = dir.resolve("cmd-" + n);
      while (!Files.exists(cmd)) {
        if (System.nanoTime() > deadline) {
          controller.stopAll();
          return;
        }
        Thread.sleep(5);
      }
      String[] words = Files.readString(cmd).strip().split(" ");
      String result = "ok";
      try {
        switch (words[0]) {
          case "start" -> controller.start(words[1]);
          case "stop" -> controller.stopAll();
          case "exit" -> {
            controller.stopAll();
            answer(dir, n, result);
            return;
          }
          default -> result = "unknown command " + words[0];
        }
      } catch (RuntimeException e) {
        result = e.toString();
      }
      answer(dir, n, result);
    }
    controller.stopAll();
  }

  /** Whole or not at all: the test reads the answer as soon as the file exists. */
  private static void answer(Path dir, int n, String result) throws java.io.IOException {
    Path temp = dir.resolve("done.tmp");
    Files.writeString(temp, result);
    Files.move(temp, dir.resolve("done-" + n), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
