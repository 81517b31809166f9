package io.upgradekit.it.load;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed-rate (open-loop) HTTP load generator: request {@code i} is due at {@code i / rate}
 * seconds after the start, whatever earlier requests did, and goes to target {@code i mod n}.
 * Every request is {@code GET <path>} on a <b>new TCP connection</b> ({@code Connection: close}),
 * over a plain socket: no pooling, no client retries, so a refused or reset connection is a failed
 * request, exactly as a client without a retrying proxy sees it. Every request is recorded
 * ({@link Sample}); {@link #stop()} returns the {@link LoadReport}.
 *
 * <pre>{@code
 * LoadGenerator load = LoadGenerator.builder().rate(200)
 *     .target("node-1", URI.create("http://127.0.0.1:40001/")).build().start();
 * ... // upgrade the nodes
 * LoadReport report = load.stop();
 * }</pre>
 */
public final class LoadGenerator implements AutoCloseable {
  /**
   * One service to load.
   *
   * @param name shown in reports
   * @param host an address
   * @param port its port
   */
  public record Target(String name, String host, int port) {
    public Target {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(host, "host");
    }

    public static Target of(String name, URI url) {
      return new Target(name, url.getHost(), url.getPort());
    }
  }

  /** How to load. */
  public static final class Builder {
    private final List<Target> targets = new ArrayList<>();
    private int rate = 200;
    private String path = "/";
    private Duration connectTimeout = Duration.ofSeconds(1);
    private Duration responseTimeout = Duration.ofSeconds(2);
    private int threads = 64;
    private Duration maxDuration = Duration.ofMinutes(15);

    public Builder target(String name, URI url) {
      targets.add(Target.of(name, url));
      return this;
    }

    public Builder target(Target target) {
      targets.add(target);
      return this;
    }

    /** Requests per second over all targets (default 200). */
    public Builder rate(int perSecond) {
      if (perSecond < 1 || perSecond > 20_000) {
        throw new IllegalArgumentException("rate must be 1..20000 requests per second, not " + perSecond);
      }
      this.rate = perSecond;
      return this;
    }

    /** The request path (default {@code /}). */
    public Builder path(String requestPath) {
      this.path = requestPath;
      return this;
    }

    /** Connect timeout (default 1 s): a connection not accepted in time is a failure. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /** Response timeout (default 2 s) from the connect to the end of the answer. */
    public Builder responseTimeout(Duration timeout) {
      this.responseTimeout = timeout;
      return this;
    }

    /** Client threads (default 64); requests queue for a thread when all are busy (and start late). */
    public Builder threads(int count) {
      this.threads = count;
      return this;
    }

    /** The run stops scheduling by itself after this long (default 15 min): a bound for forgotten runs. */
    public Builder maxDuration(Duration max) {
      this.maxDuration = max;
      return this;
    }

    public LoadGenerator build() {
      if (targets.isEmpty()) {
        throw new IllegalStateException("no targets");
      }
      return new LoadGenerator(this);
    }
  }

  private final List<Target> targets;
  private final int rate;
  private final Duration connectTimeout;
  private final Duration responseTimeout;
  private final Duration maxDuration;
  private final byte[][] requests;
  private final ThreadPoolExecutor pool;
  private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
  private volatile boolean stopping;
  private Thread scheduler;
  private long startNanos;
  private Instant startedAt;
  private long stopNanos = -1;
  private LoadReport finalReport;

  private LoadGenerator(Builder b) {
    this.targets = List.copyOf(b.targets);
    this.rate = b.rate;
    this.connectTimeout = b.connectTimeout;
    this.responseTimeout = b.responseTimeout;
    this.maxDuration = b.maxDuration;
    this.requests = new byte[targets.size()][];
    for (int i = 0; i < targets.size(); i++) {
      Target t = targets.get(i);
      requests[i] = ("GET " + b.path + " HTTP/1.1\r\nHost: " + t.host() + ":" + t.port()
          + "\r\nUser-Agent: upgradekit-it-load\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }
    AtomicInteger n = new AtomicInteger();
    this.pool = new ThreadPoolExecutor(b.threads, b.threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "load-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public static Builder builder() {
    return new Builder();
  }

  public List<Target> targets() {
    return targets;
  }

  public int rate() {
    return rate;
  }

  /** Starts sending; returns at once. */
  public synchronized LoadGenerator start() {
    if (scheduler != null) {
      throw new IllegalStateException("already started");
    }
    startedAt = Instant.now();
    startNanos = System.nanoTime();
    scheduler = new Thread(this::schedule, "load-scheduler");
    scheduler.setDaemon(true);
    scheduler.start();
    return this;
  }

  /** Time since the start, on the clock that {@link Sample} times use. */
  public long nanosSinceStart() {
    return System.nanoTime() - startNanos;
  }

  /** Stops scheduling, waits for requests in flight (bounded by the timeouts) and reports. */
  public synchronized LoadReport stop() {
    if (finalReport != null) {
      return finalReport;
    }
    if (scheduler == null) {
      throw new IllegalStateException("not started");
    }
    stopping = true;
    stopNanos = System.nanoTime() - startNanos;
    try {
      scheduler.join(5_000);
      pool.shutdown();
      long waitMillis = connectTimeout.toMillis() + responseTimeout.toMillis() + 2_000;
      if (!pool.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
        pool.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      pool.shutdownNow();
    }
    finalReport = report();
    return finalReport;
  }

  /** The report of what completed so far (the run goes on). */
  public LoadReport report() {
    long end = stopNanos >= 0 ? stopNanos : System.nanoTime() - startNanos;
    return LoadReport.of(targets, rate, startedAt, end, new ArrayList<>(samples));
  }

  @Override
  public void close() {
    if (scheduler != null) {
      stop();
    } else {
      pool.shutdownNow();
    }
  }

  private void schedule() {
    long period = 1_000_000_000L / rate;
    long limit = maxDuration.toNanos();
    for (long i = 0; !stopping; i++) {
      long due = i * period;
      long wait;
      while ((wait = due - (System.nanoTime() - startNanos)) > 0 && !stopping) {
        LockSupport.parkNanos(Math.min(wait, 50_000_000L));
      }
      if (stopping || due > limit) {
        return;
      }
      int target = (int) (i % targets.size());
      pool.execute(() -> samples.add(request(target, due)));
    }
  }

  private Sample request(int target, long due) {
    Target t = targets.get(target);
    long start = System.nanoTime() - startNanos;
    boolean connected = false;
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout((int) responseTimeout.toMillis());
      socket.connect(new InetSocketAddress(t.host(), t.port()), (int) connectTimeout.toMillis());
      connected = true;
      OutputStream out = socket.getOutputStream();
      out.write(requests[target]);
      out.flush();
      Response r = Response.read(socket.getInputStream(), start + startNanos + responseTimeout.toNanos());
      long end = System.nanoTime() - startNanos;
      String failure = r.complete ? (r.status >= 200 && r.status < 300 ? null : "http-" + r.status) : r.problem;
      return new Sample(target, due, start, end, r.status, failure, r.version);
    } catch (ConnectException e) {
      return failed(target, due, start, "refused");
    } catch (SocketTimeoutException e) {
      return failed(target, due, start, connected ? "timeout" : "connect-timeout");
    } catch (SocketException e) {
      String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
      return failed(target, due, start, m.contains("reset") ? "reset" : m.contains("refused") ? "refused"
          : m.contains("broken pipe") ? "reset" : "error");
    } catch (IOException | RuntimeException e) {
      return failed(target, due, start, "error");
    }
  }

  private Sample failed(int target, long due, long start, String kind) {
    return new Sample(target, due, start, System.nanoTime() - startNanos, 0, kind, null);
  }

  /** A minimal HTTP/1.1 response reader for {@code Connection: close} answers. */
  private static final class Response {
    int status;
    String version;
    boolean complete;
    String problem;

    static Response read(InputStream in, long deadlineNanos) throws IOException {
      ByteArrayOutputStream all = new ByteArrayOutputStream(512);
      byte[] buffer = new byte[4096];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        all.write(buffer, 0, n);
        if (all.size() > 1 << 20) {
          break; // a hello answer is tiny; anything this large is not what we asked for
        }
        if (System.nanoTime() > deadlineNanos) {
          throw new SocketTimeoutException("response took too long");
        }
      }
      Response r = new Response();
      String text = all.toString(StandardCharsets.ISO_8859_1);
      int headerEnd = text.indexOf("\r\n\r\n");
      if (!text.startsWith("HTTP/1.") || headerEnd < 0) {
        r.problem = "closed";
        return r;
      }
      String[] lines = text.substring(0, headerEnd).split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      try {
        r.status = Integer.parseInt(statusLine[1]);
      } catch (RuntimeException e) {
        r.problem = "error";
        return r;
      }
      long contentLength = -1;
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = lines[i].substring(colon + 1).trim();
        if (name.equals("x-version")) {
          r.version = value;
        } else if (name.equals("content-length")) {
          contentLength = Long.parseLong(value);
        }
      }
      long body = all.size() - (headerEnd + 4);
      r.complete = contentLength < 0 || body >= contentLength;
      if (!r.complete) {
        r.problem = "closed";
      }
      return r;
    }
  }
}
