package io.upgradekit.updater.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The tiny service the tests update: a raw HTTP/1.0 responder on 127.0.0.1 that binds with
 * SO_REUSEPORT (so an overlap start can bind beside the old process). Its behaviour comes from
 * the {@code app.properties} of the version it was started from:
 *
 * <pre>
 * version=2.0.0        GET /        -> the version
 * healthy=true         GET /health  -> 200, or 500 when false
 * errorRate=0.01       GET /metrics -> Prometheus text: http_error_ratio, http_latency_seconds
 * latency=0.02
 * </pre>
 *
 * On SIGTERM it stops accepting, finishes in-flight requests and exits. When {@code
 * UPGRADEKIT_PORT_FILE} is set (the updater sets it for every process it starts) it also listens on
 * a private loopback port (port 0, no SO_REUSEPORT) and writes that port to the file, so that a
 * health check can reach this one process.
 * Usage: {@code TestService PORT PROPERTIES_FILE}.
 */
public final class TestService {
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Properties props = new Properties();
    try (InputStream in = Files.newInputStream(Path.of(args[1]))) {
      props.load(in);
    }
    String version = props.getProperty("version", "?");
    boolean healthy = Boolean.parseBoolean(props.getProperty("healthy", "true"));
    String metrics = "# TYPE http_error_ratio gauge\nhttp_error_ratio " + props.getProperty("errorRate", "0.01")
        + "\n# TYPE http_latency_seconds gauge\nhttp_latency_seconds " + props.getProperty("latency", "0.02") + "\n";
    ServerSocketChannel server = ServerSocketChannel.open();
    server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
    server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
    server.bind(new InetSocketAddress("127.0.0.1", port), 64);
    ExecutorService workers = Executors.newFixedThreadPool(4);
    String portFile = System.getenv("UPGRADEKIT_PORT_FILE");
    ServerSocketChannel privateServer = null;
    if (portFile != null) {
      privateServer = ServerSocketChannel.open();
      privateServer.bind(new InetSocketAddress("127.0.0.1", 0), 16);
      ServerSocketChannel own = privateServer;
      Thread accepting = new Thread(() -> serve(own, workers, version, healthy, metrics), "private-port");
      accepting.setDaemon(true);
      accepting.start();
      Path file = Path.of(portFile);
      Path temp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(temp, Integer.toString(((InetSocketAddress) privateServer.getLocalAddress()).getPort()));
      Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    ServerSocketChannel privateToClose = privateServer;
    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close(); // stop accepting; the kernel sends new connections to the other process
        if (privateToClose != null) {
          privateToClose.close();
        }
      } catch (IOException ignored) {
        // exiting anyway
      }
      workers.shutdown();
      try {
        workers.awaitTermination(5, TimeUnit.SECONDS);
        main.join(1000);
      } catch (InterruptedException ignored) {
        Thread.currentThread().interrupt();
      }
    }));
    serve(server, workers, version, healthy, metrics);
  }

  private static void serve(ServerSocketChannel server, ExecutorService workers, String version, boolean healthy,
      String metrics) {
    while (server.isOpen()) {
      SocketChannel client;
      try {
        client = server.accept();
      } catch (IOException e) {
        break;
      }
      try {
        workers.execute(() -> handle(client, version, healthy, metrics));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        try {
          client.close();
        } catch (IOException ignored) {
          // shutting down
        }
      }
    }
  }

  private static void handle(SocketChannel client, String version, boolean healthy, String metrics) {
    try (client) {
      ByteBuffer in = ByteBuffer.allocate(4096);
      StringBuilder request = new StringBuilder();
      while (request.indexOf("\r\n\r\n") < 0 && client.read(in) > 0) {
        in.flip();
        request.append(StandardCharsets.US_ASCII.decode(in));
        in.clear();
      }
      String line = request.toString().split("\r\n", 2)[0];
      String path = line.split(" ").length > 1 ? line.split(" ")[1] : "/";
      int status = 200;
      String body;
      switch (path) {
        case "/health" -> {
          status = healthy ? 200 : 500;
          body = healthy ? "ok " + version : "unhealthy " + version;
        }
        case "/metrics" -> body = metrics;
        default -> body = version;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      String head = "HTTP/1.1 " + status + (status == 200 ? " OK" : " Error") + "\r\nContent-Type: text/plain\r\n"
          + "Content-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n";
      ByteBuffer out = ByteBuffer.allocate(head.length() + bytes.length);
      out.put(head.getBytes(StandardCharsets.US_ASCII)).put(bytes).flip();
      while (out.hasRemaining()) {
        client.write(out);
      }
    } catch (IOException ignored) {
      // the client went away
    }
  }

  private TestService() {}
}
