package io.upgradekit.updater.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.testsupport.HandoverDriver;
import io.upgradekit.updater.testsupport.InheritedSocketService;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The held socket with real processes: an updater's {@link ServiceController} in a JVM of its own
 * ({@link HandoverDriver}), started the way bin/updater's {@code UPDATER_LISTEN} starts the updater
 * (perl binds the socket and runs it with the socket as standard input), hands the socket to each
 * service process it starts. Between stopping one and starting the next, nothing accepts, and a
 * client's connection waits in the kernel's queue until the next version answers it, where without
 * the held socket it would be refused.
 */
@Timeout(120)
class SocketHandoverTest {
  /** Binds 127.0.0.1:$ARGV[0], makes it standard input and runs the rest of @ARGV (bin/updater's UPDATER_LISTEN). */
  private static final String LISTEN = String.join("\n",
      "use Socket;",
      "socket(my $s, PF_INET, SOCK_STREAM, 0) or die $!;",
      "setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);",
      "bind($s, sockaddr_in(shift @ARGV, inet_aton('127.0.0.1'))) or die $!;",
      "listen($s, 4096) or die $!;",
      "open(STDIN, '<&', $s) or die $!; close($s);",
      "exec { $ARGV[0] } @ARGV; die $!;");

  @TempDir
  Path dir;

  private Process driver;
  private int commands;

  @AfterEach
  void stop() throws Exception {
    if (driver != null && driver.isAlive()) {
      command("exit");
      driver.waitFor(20, TimeUnit.SECONDS);
      driver.descendants().forEach(ProcessHandle::destroyForcibly);
      driver.destroyForcibly();
    }
  }

  @Test
  void aConnectionMadeWhileNoVersionRunsWaitsForTheNextOneInsteadOfBeingRefused() throws Exception {
    int port = freePort();
    List<String> service = new ArrayList<>(java());
    service.addAll(List.of("-cp", System.getProperty("java.class.path"), InheritedSocketService.class.getName()));
    startDriver(port, "stdin", service);

    assertThat(command("start 1.0.0")).isEqualTo("ok");
    assertThat(ask(port)).isEqualTo("1.0.0");

    assertThat(command("stop")).isEqualTo("ok");
    try (Socket waiting = new Socket()) {
      waiting.connect(new InetSocketAddress("127.0.0.1", port), 2000); // refused without the held socket
      waiting.setSoTimeout(30_000);
      assertThat(command("start 2.0.0")).isEqualTo("ok");
      assertThat(read(waiting.getInputStream())).as("the connection made while nothing ran").isEqualTo("2.0.0");
    }
    assertThat(ask(port)).isEqualTo("2.0.0");
    assertThat(Files.readString(dir.resolve("driver.log")))
        .contains("started 2.0.0 as pid", "on the held socket 127.0.0.1:" + port + " (passed as standard input)");
  }

  @Test
  void withListenFdsTheSocketIsDescriptorThreeAndTheProcessIsToldSoTheSystemdWay() throws Exception {
    int port = freePort();
    startDriver(port, "listen-fds", List.of("sh", "-c", "readlink /proc/$$/fd/3 > fd3.tmp; readlink /proc/$$/fd/0 "
        + "> fd0.tmp; echo \"$LISTEN_FDS $LISTEN_FDNAMES $((LISTEN_PID - $$))\" > listen.tmp; "
        + "mv fd0.tmp fd0; mv listen.tmp listen; mv fd3.tmp fd3; exec sleep 60"));

    assertThat(command("start 1.0.0")).isEqualTo("ok");
    Path fd3 = dir.resolve("fd3");
    for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); !Files.exists(fd3); ) {
      assertThat(System.nanoTime()).as("the service wrote what it was given").isLessThan(deadline);
      Thread.sleep(20);
    }
    String held = Files.readString(dir.resolve("driver-stdin")).strip();
    assertThat(held).startsWith("socket:[");
    assertThat(Files.readString(fd3).strip()).isEqualTo(held);
    assertThat(Files.readString(dir.resolve("fd0")).strip()).isEqualTo("/dev/null");
    assertThat(Files.readString(dir.resolve("listen")).strip()).as("LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID - pid")
        .isEqualTo("1 service 0");
  }

  private void startDriver(int port, String pass, List<String> service) throws Exception {
    List<String> command = new ArrayList<>(List.of("perl", "-e", LISTEN, Integer.toString(port)));
    command.addAll(java());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), HandoverDriver.class.getName(),
        dir.toString(), Integer.toString(port), pass));
    command.addAll(service);
    driver = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("driver.log").toFile())
        .start();
  }

  private static List<String> java() {
    List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    java.addAll(TestTarget.SMALL_JVM);
    return java;
  }

  /** Writes the next command file and waits for its answer. */
  private String command(String command) throws Exception {
    int n = ++commands;
    Path temp = dir.resolve("cmd.tmp");
    Files.writeString(temp, command);
    Files.move(temp, dir.resolve("cmd-" + n));
    Path done = dir.resolve("done-" + n);
    for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40); !Files.exists(done); ) {
      assertThat(System.nanoTime()).as("'%s' answered; driver log: %s", command,
          Files.readString(dir.resolve("driver.log"))).isLessThan(deadline);
      assertThat(driver.isAlive()).as("the driver runs; its log: %s", Files.readString(dir.resolve("driver.log")))
          .isTrue();
      Thread.sleep(5);
    }
    return Files.readString(done).strip();
  }

  private static String ask(int port) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      socket.setSoTimeout(30_000);
      return read(socket.getInputStream());
    }
  }

  private static String read(InputStream in) throws Exception {
    return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
