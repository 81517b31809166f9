package io.upgradekit.updater.testsupport;

import io.upgradekit.schema.Hashes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A repository simulator: serves a repository directory (as {@link TestRepo} writes it) on
 * 127.0.0.1 over raw sockets, so that a test controls every byte and every pause of an answer,
 * and takes feedback and claims like repo-server (reports stored once per Idempotency-Key).
 *
 * <p>By default it behaves like a good static server: ETag and If-None-Match (304), Range (206 with
 * Content-Range), Content-Length, one exchange per connection. A test changes the answer for one
 * repository path with {@link #on(String)}:
 *
 * <pre>{@code
 * server.on(RepositoryLayout.blob(sha)).fastFirst(64 * 1024).drip(1, Duration.ofSeconds(1)).times(1);
 * server.on(manifestPath).appendEndless();                     // the signed bytes, then no end
 * server.on(manifestPath).contentLength(1 << 30);              // a Content-Length that lies
 * server.on("v1/feedback").status(503).header("Retry-After", "1");
 * }</pre>
 *
 * Every request is recorded ({@link #requests()}), with its headers and body. Pauses (delayed
 * headers, drips, stalls) happen in the server's own threads and end when the client gives up or
 * the simulator closes; nothing here makes a test wait.
 */
public class RepoSimulator implements AutoCloseable {
  private static final String PREFIX = "/repo/";
  /** An endless body stops here if the client never does (the bug under test may be just that). */
  private static final long ENDLESS_SAFETY_CAP = 1L << 30;
  private static final int MAX_REQUEST_HEAD = 64 * 1024;
  private static final int MAX_REQUEST_BODY = 16 * 1024 * 1024;

  /** One request as it arrived. Header names are lower case. */
  public record Request(String method, String path, Map<String, String> headers, byte[] body, Instant at) {
    /** A header's value, or null. */
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private final Path root;
  private final ServerSocket socket;
  private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "repo-simulator");
    t.setDaemon(true);
    return t;
  });
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
  private volatile boolean closed;

  /** Accepted reports by idempotency key (first body wins). */
  public final Map<String, String> reports = new ConcurrentHashMap<>();
  /** Every feedback POST's key, accepted or not, in order. */
  public final List<String> feedbackPosts = Collections.synchronizedList(new ArrayList<>());
  public final AtomicInteger blobRequests = new AtomicInteger();
  /** Conditional GETs answered 304. */
  public final AtomicInteger notModified = new AtomicInteger();
  /** Paths of every blob GET, in order. */
  public final List<String> blobPaths = Collections.synchronizedList(new ArrayList<>());
  /** Range headers of blob GETs, in order. */
  public final List<String> rangeHeaders = Collections.synchronizedList(new ArrayList<>());
  /** Claims received: "Authorization body". */
  public final List<String> claims = Collections.synchronizedList(new ArrayList<>());
  /** What /v1/claims answers (201: slot granted; 409: not yet). */
  public volatile int claimStatus = 201;
  /** When true, /v1/feedback answers 503 with Retry-After: 1. */
  public volatile boolean feedbackDown;
  /** When set, blob GETs send this many bytes (a resumed one: none) and then stall. */
  public volatile int stallAfterBytes = -1;

  /** A test's own answer to an API path (leases, heartbeats): status, body, extra headers. */
  public record ApiReply(int status, byte[] body, Map<String, String> headers) {
    public static ApiReply json(int status, byte[] body) {
      return new ApiReply(status, body, Map.of("Content-Type", "application/json"));
    }
  }

  private final Map<String, java.util.function.Function<Request, ApiReply>> api = new ConcurrentHashMap<>();

  /** Answers POSTs (and GETs) to {@code path} (relative to the base, e.g. {@code v1/leases}) with {@code handler}. */
  public void api(String path, java.util.function.Function<Request, ApiReply> handler) {
    api.put(path, handler);
  }

  public RepoSimulator(Path root) throws IOException {
    this(root, 0);
  }

  /** A simulator on a given port (0: any free one). */
  public RepoSimulator(Path root, int port) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    this.socket = new ServerSocket();
    socket.setReuseAddress(true);
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    executor.execute(this::acceptLoop);
  }

  public URI base() {
    return URI.create("http://127.0.0.1:" + socket.getLocalPort() + PREFIX);
  }

  /** Every request so far, in order of arrival. */
  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** The requests for one repository path (relative to the base, e.g. {@code blobs/<sha256>}). */
  public List<Request> requests(String path) {
    return requests().stream().filter(r -> r.path().equals(path)).toList();
  }

  /**
   * A new rule for the answers to one repository path (relative to the base). A path's rules apply
   * in the order they were added: the first that has requests left answers (so {@code
   * on(p).closeAfter(1000).times(1); on(p).ignoreRange();} is a first answer cut short, then
   * answers that ignore Range). Configure it with its methods; it applies from now on.
   */
  public Rule on(String path) {
    Rule rule = new Rule(path);
    rules.add(rule);
    return rule;
  }

  /** Back to a good static server. */
  public void clearRules() {
    rules.clear();
  }

  /** How the answers to one path differ from a good server's. Methods return the rule for chaining. */
  public static final class Rule {
    private final String path;
    private volatile int remaining = Integer.MAX_VALUE;
    private volatile byte[] body;
    private volatile boolean endless;
    private volatile int truncate = -1;
    private volatile int status;
    private final Map<String, String> headers = new ConcurrentHashMap<>();
    private final Set<String> removed = ConcurrentHashMap.newKeySet();
    private volatile boolean ignoreRange;
    private volatile Duration delayHeaders = Duration.ZERO;
    private volatile long fastFirst;
    private volatile int dripBytes;
    private volatile Duration dripEvery;
    private volatile long stallAfter = -1;
    private volatile long closeAfter = -1;
    private volatile Runnable beforeHeaders;

    private Rule(String path) {
      this.path = path;
    }

    /** Applies to the next {@code n} requests for the path only. */
    public Rule times(int n) {
      remaining = n;
      return this;
    }

    /** Serves these bytes instead of the file's (also where there is no file). */
    public Rule body(byte[] replacement) {
      body = replacement.clone();
      return this;
    }

    /** After the body, bytes without end (no Content-Length unless one is set: the close ends it). */
    public Rule appendEndless() {
      endless = true;
      return this;
    }

    /** Serves only the first {@code bytes} of the body. */
    public Rule truncate(int bytes) {
      truncate = bytes;
      return this;
    }

    /** Answers with this status (the body is still sent). */
    public Rule status(int code) {
      status = code;
      return this;
    }

    /** Sends this header with this value, replacing the one the server would send. */
    public Rule header(String name, String value) {
      headers.put(name, value);
      removed.remove(name.toLowerCase(Locale.ROOT));
      return this;
    }

    /** Announces this Content-Length, whatever the body is (a lie, unless it is the truth). */
    public Rule contentLength(long announced) {
      return header("Content-Length", Long.toString(announced));
    }

    /** Sends no Content-Length: the body ends when the connection closes. */
    public Rule noContentLength() {
      headers.remove("Content-Length");
      removed.add("content-length");
      return this;
    }

    /** Answers a Range request with 200 and the whole body, as servers without range support do. */
    public Rule ignoreRange() {
      ignoreRange = true;
      return this;
    }

    /** Waits this long after the request before sending the headers. */
    public Rule delayHeaders(Duration delay) {
      delayHeaders = delay;
      return this;
    }

    /** With {@link #drip}: sends this many bytes at full speed first. */
    public Rule fastFirst(long bytes) {
      fastFirst = bytes;
      return this;
    }

    /** Sends the body {@code bytes} at a time, one portion every {@code every} (after {@link #fastFirst}). */
    public Rule drip(int bytes, Duration every) {
      dripBytes = bytes;
      dripEvery = every;
      return this;
    }

    /** Sends this many body bytes, then nothing, holding the connection until the client gives up. */
    public Rule stallAfter(long bytes) {
      stallAfter = bytes;
      return this;
    }

    /** Sends this many body bytes, then closes the connection. */
    public Rule closeAfter(long bytes) {
      closeAfter = bytes;
      return this;
    }

    /** Runs {@code action} when a request for the path arrives, before the headers are sent. */
    public Rule beforeHeaders(Runnable action) {
      beforeHeaders = action;
      return this;
    }

    private boolean take() {
      synchronized (this) {
        if (remaining <= 0) {
          return false;
        }
        if (remaining != Integer.MAX_VALUE) {
          remaining--;
        }
        return true;
      }
    }
  }

  // ------------------------------------------------------------------ serving

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = socket.accept();
        open.add(client);
        executor.execute(() -> {
          try (client) {
            serve(client);
          } catch (IOException | RuntimeException e) {
            // the client went away, or the simulator closed: nothing to answer
          } finally {
            open.remove(client);
          }
        });
      } catch (IOException e) {
        if (!closed) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  /** An answer before the rule's changes and pacing. */
  private static final class Answer {
    int status = 200;
    final Map<String, String> headers = new LinkedHashMap<>();
    byte[] body = new byte[0];
    boolean endless;
    boolean noBody;
    long stallAfter = -1;
    long closeAfter = -1;
  }

  private void serve(Socket client) throws IOException {
    client.setSoTimeout(120_000);
    InputStream in = client.getInputStream();
    Request recorded = readRequest(in);
    if (recorded == null) {
      return;
    }
    requests.add(recorded);
    String rel = recorded.path();
    if (rel.startsWith("/")) {
      write(client, notFound(), null, recorded); // not under the repository's base
      return;
    }
    Rule rule = null;
    for (Rule r : rules) {
      if (r.path.equals(rel) && r.take()) {
        rule = r;
        break;
      }
    }
    Answer answer;
    if (rel.equals("v1/feedback")) {
      answer = feedback(recorded, rule);
    } else if (rel.equals("v1/claims")) {
      claims.add(recorded.header("Authorization") + " " + new String(recorded.body(), StandardCharsets.UTF_8));
      answer = new Answer();
      answer.status = claimStatus;
      answer.body = "{}".getBytes(StandardCharsets.UTF_8);
    } else if (api.containsKey(rel)) {
      ApiReply reply = api.get(rel).apply(recorded);
      answer = new Answer();
      answer.status = reply.status();
      answer.body = reply.body();
      answer.headers.putAll(reply.headers());
    } else {
      answer = file(rel, recorded, rule);
    }
    if (rel.startsWith("v1/") && rule != null) {
      // An API answer's body, as the rule says (the request was taken as usual).
      answer.body = rule.body != null ? rule.body : answer.body;
      answer.endless = rule.endless;
    }
    write(client, answer, rule, recorded);
  }

  private Answer feedback(Request request, Rule rule) {
    String key = request.header("Idempotency-Key");
    feedbackPosts.add(key);
    Answer answer = new Answer();
    if (feedbackDown) {
      answer.status = 503;
      answer.headers.put("Retry-After", "1");
      return answer;
    }
    answer.status = rule != null && rule.status != 0 ? rule.status : 202;
    if (answer.status / 100 == 2) {
      reports.putIfAbsent(key, new String(request.body(), StandardCharsets.UTF_8));
    }
    return answer;
  }

  private Answer file(String rel, Request request, Rule rule) throws IOException {
    Path file = root.resolve(rel).normalize();
    byte[] bytes;
    if (rule != null && rule.body != null) {
      bytes = rule.body;
    } else if (file.startsWith(root) && Files.isRegularFile(file)) {
      bytes = Files.readAllBytes(file);
    } else {
      return notFound();
    }
    if (rule != null && rule.truncate >= 0 && rule.truncate < bytes.length) {
      bytes = Arrays.copyOf(bytes, rule.truncate);
    }
    boolean endless = rule != null && rule.endless;
    Answer answer = new Answer();
    String etag = "\"" + Hashes.sha256(bytes).substring(0, 16) + "\"";
    answer.headers.put("ETag", etag);
    if (!endless && etag.equals(request.header("If-None-Match"))) {
      notModified.incrementAndGet();
      answer.status = 304;
      answer.noBody = true;
      return answer;
    }
    boolean blob = rel.startsWith("blobs/");
    String range = request.header("Range");
    if (blob) {
      blobRequests.incrementAndGet();
      blobPaths.add(rel);
      if (range != null) {
        rangeHeaders.add(range);
      }
    }
    answer.body = bytes;
    answer.endless = endless;
    if (range != null && !(rule != null && rule.ignoreRange) && range.matches("bytes=\\d+-")) {
      long from = Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
      if (from >= bytes.length && !endless) {
        answer.status = 416;
        answer.body = new byte[0];
        answer.headers.put("Content-Range", "bytes */" + bytes.length);
        return answer;
      }
      answer.status = 206;
      answer.body = Arrays.copyOfRange(bytes, (int) Math.min(from, bytes.length), bytes.length);
      answer.headers.put("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
    }
    int legacyStall = stallAfterBytes;
    if (blob && legacyStall >= 0) {
      answer.stallAfter = range != null ? 0 : legacyStall;
    }
    return answer;
  }

  private static Answer notFound() {
    Answer answer = new Answer();
    answer.status = 404;
    return answer;
  }

  private void write(Socket client, Answer answer, Rule rule, Request request) throws IOException {
    if (rule != null) {
      if (rule.beforeHeaders != null) {
        rule.beforeHeaders.run();
      }
      if (!rule.delayHeaders.isZero() && !pause(rule.delayHeaders)) {
        return;
      }
      if (rule.status != 0) {
        answer.status = rule.status;
      }
      answer.stallAfter = rule.stallAfter >= 0 ? rule.stallAfter : answer.stallAfter;
      answer.closeAfter = rule.closeAfter;
    }
    Map<String, String> headers = new LinkedHashMap<>();
    if (!answer.noBody && !answer.endless) {
      headers.put("Content-Length", Integer.toString(answer.body.length));
    }
    headers.putAll(answer.headers);
    if (rule != null) {
      for (String name : rule.removed) {
        headers.keySet().removeIf(h -> h.equalsIgnoreCase(name));
      }
      rule.headers.forEach((name, value) -> {
        headers.keySet().removeIf(h -> h.equalsIgnoreCase(name));
        headers.put(name, value);
      });
    }
    headers.put("Connection", "close");
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(answer.status).append(' ')
        .append(reason(answer.status)).append("\r\n");
    headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
    head.append("\r\n");
    OutputStream out = client.getOutputStream();
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    if (answer.noBody || "HEAD".equals(request.method())) {
      return;
    }
    long limit = answer.endless ? ENDLESS_SAFETY_CAP : answer.body.length;
    boolean stall = false;
    if (answer.stallAfter >= 0 && answer.stallAfter < limit) {
      limit = answer.stallAfter;
      stall = true;
    }
    if (answer.closeAfter >= 0 && answer.closeAfter < limit) {
      limit = answer.closeAfter;
      stall = false;
    }
    long sent = 0;
    long fast = rule != null && rule.dripBytes > 0 ? Math.min(rule.fastFirst, limit) : limit;
    byte[] buffer = new byte[8192];
    while (sent < limit) {
      boolean dripping = sent >= fast;
      int n = (int) Math.min(dripping ? rule.dripBytes : buffer.length, limit - sent);
      if (!dripping) {
        n = (int) Math.min(n, fast - sent);
      }
      fill(answer, sent, buffer, n);
      out.write(buffer, 0, n);
      out.flush();
      sent += n;
      if (dripping && sent < limit && !pause(rule.dripEvery)) {
        return;
      }
    }
    if (stall) {
      // Hold the connection: the client's timeout must end this, not the server.
      try {
        while (client.getInputStream().read() >= 0) {
          // a client that keeps sending is ignored
        }
      } catch (SocketException e) {
        // closed by the client or by close()
      }
    }
  }

  private static void fill(Answer answer, long from, byte[] buffer, int n) {
    for (int i = 0; i < n; i++) {
      long at = from + i;
      buffer[i] = at < answer.body.length ? answer.body[(int) at] : (byte) 'x';
    }
  }

  /** Sleeps in a server thread; false when the simulator is closing. */
  private boolean pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
      return !closed;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 201 -> "Created";
      case 202 -> "Accepted";
      case 206 -> "Partial Content";
      case 304 -> "Not Modified";
      case 404 -> "Not Found";
      case 409 -> "Conflict";
      case 416 -> "Range Not Satisfiable";
      case 503 -> "Service Unavailable";
      default -> "Status";
    };
  }

  private static Request readRequest(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int last4 = 0;
    while (last4 != 0x0d0a0d0a) { // CR LF CR LF ends the head
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.write(b);
      if (head.size() > MAX_REQUEST_HEAD) {
        throw new IOException("request head too long");
      }
      last4 = (last4 << 8) | b;
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    String[] requestLine = lines[0].split(" ");
    if (requestLine.length < 2) {
      throw new IOException("bad request line " + lines[0]);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
      }
    }
    byte[] body = new byte[0];
    String length = headers.get("content-length");
    if (length != null) {
      int n = Integer.parseInt(length);
      if (n < 0 || n > MAX_REQUEST_BODY) {
        throw new IOException("request body of " + n + " bytes");
      }
      body = in.readNBytes(n);
    }
    String target = requestLine[1];
    int query = target.indexOf('?');
    String path = query >= 0 ? target.substring(0, query) : target;
    // Recorded relative to the repository's base, as tests name paths; anything else stays absolute.
    return new Request(requestLine[0], path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : path,
        Map.copyOf(headers), body, Instant.now());
  }

  @Override
  public void close() {
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    executor.shutdownNow();
    try {
      executor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
