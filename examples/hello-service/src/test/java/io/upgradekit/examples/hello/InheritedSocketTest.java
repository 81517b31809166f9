package io.upgradekit.examples.hello;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * hello-service started with a listening socket as its standard input, as the Upgradekit updater
 * (service.socket) and systemd (StandardInput=socket) start it: it serves that socket instead of
 * binding its port, and its drain leaves the socket to its holder, which here is a perl process
 * that bound it, forked the service with it as standard input and keeps its own copy.
 */
@Timeout(60)
class InheritedSocketTest {
  /** Binds 127.0.0.1:$ARGV[0], starts the rest of @ARGV with it as stdin, prints its pid, keeps the socket. */
  private static final String HOLDER = String.join("\n",
      "use Socket;",
      "socket(my $s, PF_INET, SOCK_STREAM, 0) or die $!;",
      "setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);",
      "bind($s, sockaddr_in(shift @ARGV, inet_aton('127.0.0.1'))) or die $!;",
      "listen($s, 128) or die $!;",
      "my $pid = fork() // die $!;",
      "if ($pid == 0) { open(STDIN, '<&', $s) or die $!; close($s); open(STDOUT, '>&', \\*STDERR); exec { $ARGV[0] } @ARGV; die $!; }",
      "$| = 1; print \"$pid\\n\"; waitpid($pid, 0); sleep 60;");

  @TempDir
  Path tmp;

  private Process holder;

  @AfterEach
  void stop() {
    if (holder != null) {
      holder.descendants().forEach(ProcessHandle::destroyForcibly);
      holder.destroyForcibly();
    }
  }

  @Test
  void servesTheInheritedSocketAndLeavesItQueueingWhenItStops() throws Exception {
    int held = freePort();
    int ownPort = freePort(); // what it would bind without the inherited socket: never asked here
    Path log = tmp.resolve("service.log");
    holder = new ProcessBuilder(List.of("perl", "-e", HOLDER, Integer.toString(held),
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
        HelloService.class.getName(), "--port", Integer.toString(ownPort)))
        .redirectError(log.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.US_ASCII));
    ProcessHandle service = ProcessHandle.of(Long.parseLong(out.readLine().strip())).orElseThrow();

    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> answer = null;
    for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); answer == null; ) {
      try {
        answer = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + held + "/"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      } catch (java.net.http.HttpTimeoutException e) {
        assertThat(System.nanoTime()).as("an answer on the inherited socket; service log: %s", Files.readString(log))
            .isLessThan(deadline);
      }
    }
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).startsWith("Hello ");
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(false);
      probe.bind(new InetSocketAddress("127.0.0.1", ownPort)); // free: the service did not bind a port of its own
    }

    service.destroy(); // SIGTERM: drain and exit
    assertThat(service.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
    // The holder's copy still listens: a new connection is queued for the next process, not refused.
    try (Socket queued = new Socket()) {
      queued.connect(new InetSocketAddress("127.0.0.1", held), 2000);
      assertThat(queued.isConnected()).isTrue();
    }
    assertThat(Files.readString(log)).contains("listening on the inherited socket, port " + held)
        .contains("the inherited socket on port " + held + " queues new connections");
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
