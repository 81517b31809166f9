package io.upgradekit.examples.hello;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FileInputStream;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HelloServiceTest {
  private static final HelloService.BuildInfo V1 = new HelloService.BuildInfo("1.0.0", "Hello", true);
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final java.util.List<HelloService> started = new java.util.ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (HelloService service : started) {
      service.stop();
    }
  }

  @Test
  void answersWithItsVersionHealthAndMetrics() throws Exception {
    HelloService service = start(0, V1, 0);

    assertThat(get(service.port(), "/").body()).isEqualTo("Hello 1.0.0\n");
    assertThat(get(service.port(), "/health").statusCode()).isEqualTo(200);
    assertThat(get(service.port(), "/nothing").statusCode()).isEqualTo(404);
    String metrics = get(service.port(), "/metrics").body();
    assertThat(metrics).contains("hello_requests_total 3", "hello_build_info{version=\"1.0.0\"} 1",
        "hello_request_duration_seconds_count 3", "hello_request_errors_total 0");
  }

  @Test
  void theSharedPortQueuesAThousandConnectionsWhileTheJvmIsCold() throws Exception {
    HelloService service = start(0, V1, 0);
    // ss shows a listening socket's backlog as its Send-Q; the kernel caps it at somaxconn.
    Process ss = new ProcessBuilder("ss", "-ltnH", "sport = :" + service.port()).redirectErrorStream(true).start();
    String listing = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(ss.waitFor()).as("ss (iproute2): " + listing).isZero();
    // Read as a stream: Files.readString sees a sysctl file's size as 0 and gets its first byte only.
    int somaxconn;
    try (InputStream in = new FileInputStream("/proc/sys/net/core/somaxconn")) {
      somaxconn = Integer.parseInt(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
    }
    assertThat(listing.split("\\s+")[2]).as("the listener's backlog in: " + listing)
        .isEqualTo(Integer.toString(Math.min(HelloService.ACCEPT_QUEUE, somaxconn)));
  }

  @Test
  void anUnhealthyBuildFailsItsHealthCheck() throws Exception {
    HelloService service = start(0, new HelloService.BuildInfo("3.0.0", "Hello", false), 0);
    assertThat(get(service.port(), "/health").statusCode()).isEqualTo(503);
  }

  @Test
  void aBadBuildFailsItsShareOfRequestsOnlyAfterItsDelay() throws Exception {
    HelloService fails = start(0, new HelloService.BuildInfo("3.0.0", "Hello", true, 1.0, 0), 0);
    assertThat(get(fails.port(), "/").statusCode()).isEqualTo(500);
    assertThat(get(fails.port(), "/health").statusCode()).as("a bad build still passes its health check")
        .isEqualTo(200);
    assertThat(get(fails.port(), "/metrics").body()).contains("hello_request_errors_total 1");

    HelloService later = start(0, new HelloService.BuildInfo("3.0.0", "Hello", true, 1.0, 1), 0);
    assertThat(get(later.port(), "/").statusCode()).as("before its errorsAfter").isEqualTo(200);
    Thread.sleep(1100);
    assertThat(get(later.port(), "/").statusCode()).as("after its errorsAfter").isEqualTo(500);
  }

  @Test
  void withADownstreamItAnswersWithItsOwnLineAndTheDownstreams() throws Exception {
    HelloService database = start(0, new HelloService.BuildInfo("2.0.0", "database", true, 0, 0, "database"), 0);
    HelloService cache = startCalling(new HelloService.BuildInfo("2.0.0", "cache", true, 0, 0, "cache"),
        "http://127.0.0.1:" + database.port() + "/");
    HelloService api = startCalling(new HelloService.BuildInfo("1.0.0", "api", true, 0, 0, "api"),
        "http://127.0.0.1:" + cache.port());

    HttpResponse<String> answer = get(api.port(), "/");
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).isEqualTo("api 1.0.0 -> cache 2.0.0 -> database 2.0.0\n");
    assertThat(get(database.port(), "/metrics").body()).contains("hello_requests_total 1");
  }

  @Test
  void aFailingDownstreamFailsItsRequestsWith502AndTheyCountAsItsErrors() throws Exception {
    HelloService badCache = start(0, new HelloService.BuildInfo("3.0.0", "cache", true, 1.0, 0, "cache"), 0);
    HelloService api = startCalling(new HelloService.BuildInfo("2.0.0", "api", true, 0, 0, "api"),
        "http://127.0.0.1:" + badCache.port() + "/");

    HttpResponse<String> answer = get(api.port(), "/");
    assertThat(answer.statusCode()).isEqualTo(502);
    assertThat(answer.body()).isEqualTo("api 2.0.0: downstream http://127.0.0.1:" + badCache.port()
        + "/ answered 500 (injected error)\n");
    assertThat(get(api.port(), "/health").statusCode()).as("its own health does not depend on the downstream")
        .isEqualTo(200);
    assertThat(get(api.port(), "/metrics").body()).contains("hello_request_errors_total 1",
        "hello_downstream_errors_total 1");
  }

  @Test
  void aNodeThatCannotBeReachedIsLeftForTheNextOneOnce() throws Exception {
    int closed;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = probe.getLocalPort();
    }
    HelloService database = start(0, new HelloService.BuildInfo("2.0.0", "database", true, 0, 0, "database"), 0);
    HelloService cache = startCalling(new HelloService.BuildInfo("2.0.0", "cache", true, 0, 0, "cache"),
        "http://127.0.0.1:" + closed + "/, http://127.0.0.1:" + database.port() + "/");
    for (int i = 0; i < 4; i++) { // whichever node is first in turn, every request is answered
      assertThat(get(cache.port(), "/").statusCode()).isEqualTo(200);
    }
    assertThat(get(database.port(), "/metrics").body()).contains("hello_requests_total 4");

    HelloService alone = startCalling(new HelloService.BuildInfo("2.0.0", "cache", true, 0, 0, "cache"),
        "http://127.0.0.1:" + closed + "/");
    HttpResponse<String> answer = get(alone.port(), "/");
    assertThat(answer.statusCode()).isEqualTo(502);
    assertThat(answer.body()).contains("http://127.0.0.1:" + closed + "/ failed: connection refused");
  }

  @Test
  void theDownstreamComesFromTheConfigFileTheEnvironmentOrAnArgument(@TempDir Path tmp) throws Exception {
    Path config = tmp.resolve("cache.properties");
    Files.writeString(config, "downstream=http://127.0.0.1:9000/,http://127.0.0.1:9001/\ndownstreamTimeoutMillis=500\n");
    HelloService.Settings fromFile = HelloService.Settings.parse(new String[] {"--config", config.toString()}, Map.of());
    assertThat(fromFile.downstream().targets()).extracting(URI::toString)
        .containsExactly("http://127.0.0.1:9000/", "http://127.0.0.1:9001/");
    assertThat(fromFile.downstream().timeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(HelloService.Settings.parse(new String[] {"--config", config.toString()},
        Map.of("HELLO_DOWNSTREAM", "http://127.0.0.1:7000")).downstream().targets())
        .containsExactly(URI.create("http://127.0.0.1:7000/"));
    assertThat(HelloService.Settings.parse(new String[] {"--config", config.toString(), "--downstream",
        "http://127.0.0.1:6000/"}, Map.of("HELLO_DOWNSTREAM", "http://127.0.0.1:7000")).downstream().targets())
        .containsExactly(URI.create("http://127.0.0.1:6000/"));
    assertThat(HelloService.Settings.parse(new String[0], Map.of()).downstream()).isNull();
    assertThatThrownBy(() -> HelloService.Settings.parse(new String[] {"--downstream", "cache:9000"}, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("downstream 'cache:9000' is not an http:// URL with a host: write http://HOST:PORT/, several"
            + " separated by commas");
    assertThatThrownBy(() -> HelloService.Settings.parse(new String[] {"--port"}, Map.of()))
        .hasMessage("--port needs a value");
  }

  @Test
  void theBuildInfoIsReadFromTheResourceItIsToldOf() throws Exception {
    HelloService.Settings settings = HelloService.Settings.parse(new String[] {"--build-info",
        "io/upgradekit/examples/hello/test-component.properties"}, Map.of());
    HelloService.BuildInfo build = HelloService.BuildInfo.load(settings.buildInfo());
    assertThat(build).isEqualTo(new HelloService.BuildInfo("2.1.0", "cache", true, 0.25, 5, "cache"));
    assertThat(HelloService.Settings.parse(new String[0], Map.of()).buildInfo())
        .isEqualTo("io/upgradekit/examples/hello/build.properties");
    assertThatThrownBy(() -> HelloService.BuildInfo.load("no/such.properties"))
        .hasMessage("no/such.properties is missing from the class path: is --build-info right?");
  }

  @Test
  void twoVersionsCanListenOnTheSamePort() throws Exception {
    HelloService old = start(0, V1, 0);
    HelloService next = start(old.port(), new HelloService.BuildInfo("2.0.0", "Hello", true), 0);

    assertThat(next.port()).isEqualTo(old.port());
    old.stop();
    assertThat(get(next.port(), "/").body()).isEqualTo("Hello 2.0.0\n");
  }

  @Test
  void withUpgradekitPortFileEachProcessAlsoListensAloneOnAPrivateLoopbackPort(@TempDir Path tmp) throws Exception {
    Path oldFile = tmp.resolve("process-a.port");
    Path newFile = tmp.resolve("process-b.port");
    HelloService old = startWithPrivatePort(0, V1, oldFile);
    HelloService next = startWithPrivatePort(old.port(), new HelloService.BuildInfo("2.0.0", "Hello", false), newFile);

    int oldPrivate = Integer.parseInt(Files.readString(oldFile));
    int newPrivate = Integer.parseInt(Files.readString(newFile));
    assertThat(oldPrivate).isEqualTo(old.privatePort()).isNotEqualTo(old.port()).isNotEqualTo(newPrivate);
    assertThat(next.port()).isEqualTo(old.port());
    // The private port reaches exactly one process, whatever the kernel does with the shared port.
    for (int i = 0; i < 10; i++) {
      assertThat(get(oldPrivate, "/health").statusCode()).isEqualTo(200);
      assertThat(get(newPrivate, "/health").statusCode()).isEqualTo(503);
      assertThat(get(newPrivate, "/").body()).isEqualTo("Hello 2.0.0\n");
    }
    assertThat(get(newPrivate, "/metrics").body()).contains("hello_build_info{version=\"2.0.0\"} 1");
    assertThat(tmp.resolve("process-a.port.tmp")).doesNotExist();
    // Loopback only, and not shareable: a second bind of the same port fails.
    try (ServerSocket again = new ServerSocket()) {
      again.setReuseAddress(true);
      assertThatThrownBy(() -> again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), newPrivate)))
          .isInstanceOf(BindException.class);
    }
  }

  @Test
  void settingsTakeThePortFileFromTheEnvironment() throws Exception {
    assertThat(HelloService.Settings.parse(new String[0], Map.of("UPGRADEKIT_PORT_FILE", "/s/process-1.port"))
        .privatePortFile()).isEqualTo("/s/process-1.port");
    assertThat(HelloService.Settings.parse(new String[0], Map.of()).privatePortFile()).isNull();
  }

  @Test
  void stoppingFinishesRequestsInFlight() throws Exception {
    HelloService service = start(0, V1, 700);
    CompletableFuture<HttpResponse<String>> slow = client.sendAsync(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/")).build(),
        HttpResponse.BodyHandlers.ofString());
    waitForInFlight(service.port());

    service.stop();

    assertThat(slow.get().statusCode()).isEqualTo(200);
    assertThat(slow.get().body()).isEqualTo("Hello 1.0.0\n");
  }

  @Test
  void drainingServesKeepAliveRequestsAndClosesTheirConnections() throws Exception {
    HelloService service = start(0, V1, 0);
    int port = service.port(); // Jetty reports -2 once the connector is closed, so read it before stopping
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5000);
      var out = socket.getOutputStream();
      var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
          StandardCharsets.ISO_8859_1));
      String request = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      assertThat(readResponse(in)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      // The next version listens beside it (overlap): the old one waits for its keep-alive clients.
      start(port, new HelloService.BuildInfo("2.0.0", "Hello", true), 0);

      CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> {
        try {
          service.stop();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      waitUntilOnlyAnswers(port, "Hello 2.0.0\n"); // the listening socket is closed first
      assertThat(stopping).isNotDone(); // ...but the open connection is still served

      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      assertThat(readResponse(in)).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close")
          .endsWith("Hello 1.0.0\n");
      assertThat(in.read()).as("the server closes the connection after that response").isEqualTo(-1);
      stopping.get(5, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void tellsWhetherAnotherProcessListensOnItsPort() throws Exception {
    int unused;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      unused = probe.getLocalPort();
    }
    assertThat(HelloService.othersListenOn(unused)).isFalse();
    HelloService old = start(0, V1, 0);
    int port = old.port();
    assertThat(HelloService.othersListenOn(port)).isTrue();
    start(port, new HelloService.BuildInfo("2.0.0", "Hello", true), 0);
    old.stop();
    assertThat(HelloService.othersListenOn(port)).as("the next version still listens").isTrue();
  }

  @Test
  void aloneOnItsPortItClosesAnIdleKeepAliveConnectionInsteadOfWaitingForIt() throws Exception {
    HelloService service = start(0, V1, 0);
    int port = service.port();
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5000);
      var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
          StandardCharsets.ISO_8859_1));
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: test\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1));
      assertThat(readResponse(in)).startsWith("HTTP/1.1 200");

      service.stop(); // a restart: nobody else on the port, so no keep-alive client is waited for

      assertThat(in.read()).as("the idle connection was closed by the stop").isEqualTo(-1);
      assertThat(HelloService.othersListenOn(port)).isFalse();
    }
  }

  private static String readResponse(java.io.BufferedReader in) throws java.io.IOException {
    StringBuilder head = new StringBuilder();
    int length = 0;
    for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
      head.append(line).append('\n');
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    char[] body = new char[length];
    for (int read = 0; read < length; ) {
      read += in.read(body, read, length - read);
    }
    return head + "\n" + new String(body);
  }

  /** Until 20 new connections in a row are answered with {@code body}: the other listener has closed. */
  private void waitUntilOnlyAnswers(int port, String body) throws Exception {
    int inARow = 0;
    for (int i = 0; i < 500 && inARow < 20; i++) {
      inARow = get(port, "/").body().equals(body) ? inARow + 1 : 0;
      if (inARow == 0) {
        Thread.sleep(10);
      }
    }
    assertThat(inARow).as("new connections answered by " + body.strip() + " only").isEqualTo(20);
  }

  private void waitForInFlight(int port) throws Exception {
    for (int i = 0; i < 100; i++) {
      if (get(port, "/metrics").body().contains("hello_requests_in_flight 2")) { // the slow one + this one
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the slow request never started");
  }

  @Test
  void behindAStartGateItStartsEverythingButItsPublicListenerAndAcceptsOnceTheGateOpens(@TempDir Path tmp)
      throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    Path privatePortFile = tmp.resolve("private.port");
    HelloService service = new HelloService(new HelloService.Settings("127.0.0.1", port, 5, null,
        privatePortFile.toString(), 0, 0, false), V1);
    started.add(service);
    StartGate gate = new StartGate(tmp, Duration.ofSeconds(30));
    CompletableFuture<Void> starting = CompletableFuture.runAsync(() -> {
      try {
        service.start(gate);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    for (int i = 0; i < 1000 && !Files.exists(tmp.resolve("ready")); i++) {
      Thread.sleep(10);
    }
    assertThat(tmp.resolve("ready")).as("it says it is ready").exists();
    assertThat(Files.readString(tmp.resolve("ready"))).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    assertThat(get(service.privatePort(), "/health").statusCode()).as("the private port answers the updater")
        .isEqualTo(200);
    Thread.sleep(50);
    assertThat(starting).as("it waits at the gate").isNotDone();
    assertThatThrownBy(() -> get(port, "/")).as("nothing accepts on the public port yet")
        .isInstanceOf(java.net.ConnectException.class);

    Files.createFile(tmp.resolve("open"));
    starting.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(get(port, "/").body()).isEqualTo("Hello 1.0.0\n");
  }

  @Test
  void aStartGateThatNeverOpensEndsTheStartWithAnErrorNamingTheTimeout(@TempDir Path tmp) throws Exception {
    HelloService service = new HelloService(new HelloService.Settings("127.0.0.1", 0, 5, null, 0, 0), V1);
    started.add(service);
    assertThatThrownBy(() -> service.start(new StartGate(tmp, Duration.ofMillis(100))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("did not open within")
        .hasMessageContaining("UPGRADEKIT_START_GATE_TIMEOUT");
    assertThat(tmp.resolve("ready")).exists();
    assertThat(StartGate.fromEnvironment(Map.of())).isNull();
    assertThatThrownBy(() -> StartGate.fromEnvironment(Map.of("UPGRADEKIT_START_GATE", "/x",
        "UPGRADEKIT_START_GATE_TIMEOUT", "soon"))).hasMessageContaining("whole seconds");
  }

  private HelloService start(int port, HelloService.BuildInfo build, long latencyMillis) throws Exception {
    HelloService service = new HelloService(
        new HelloService.Settings("127.0.0.1", port, 5, null, 0, latencyMillis), build);
    service.start();
    started.add(service);
    return service;
  }

  private HelloService startCalling(HelloService.BuildInfo build, String downstream) throws Exception {
    HelloService service = new HelloService(new HelloService.Settings("127.0.0.1", 0, 5, null, null, 0, 0, false,
        HelloService.Settings.parse(new String[] {"--downstream", downstream}, Map.of()).downstream(), null), build);
    service.start();
    started.add(service);
    return service;
  }

  private HelloService startWithPrivatePort(int port, HelloService.BuildInfo build, Path portFile) throws Exception {
    HelloService service = new HelloService(
        new HelloService.Settings("127.0.0.1", port, 5, null, portFile.toString(), 0, 0, false), build);
    service.start();
    started.add(service);
    return service;
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
