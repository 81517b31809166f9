package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Small helpers the scenario ITs share: requests to a service, waiting, repository files, reports. */
final class Scenarios {
  private Scenarios() {}

  /**
   * {@code GET url} on a new connection ({@code Connection: close}, a plain socket: the JDK client
   * pools connections and would keep asking the same process): the body of a 2xx answer, else
   * empty (refused, reset, timeout, another status).
   */
  static Optional<String> get(URI url) {
    try (Socket socket = new Socket()) {
      socket.setSoTimeout(3000);
      socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), 2000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + url.getRawPath() + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort()
          + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int body = answer.indexOf("\r\n\r\n");
      if (!answer.startsWith("HTTP/1.1 2") || body < 0) {
        return Optional.empty();
      }
      return Optional.of(answer.substring(body + 4));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * {@code count} requests to the node's service, each on a new connection (so with {@code
   * SO_REUSEPORT} each may reach any process on the port): the distinct answers, "(no answer)" for
   * a failed one.
   */
  static Set<String> answers(Node node, int count) {
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < count; i++) {
      seen.add(get(node.serviceUrl()).map(String::strip).orElse("(no answer)"));
    }
    return seen;
  }

  /** Polls {@code condition} every 20 ms until it holds; fails with {@code what} after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting until " + what);
      }
      ManagedProcess.sleep(20);
    }
  }

  /** Waits for the daemon's {@code committed: now running <version>} line after {@code mark}, whatever came before it. */
  static void awaitCommitLine(Node node, String version, long mark, Duration timeout) {
    node.daemon().orElseThrow().awaitLog(Pattern.compile("^committed: now running " + Pattern.quote(version) + "$"),
        mark, timeout);
  }

  /** Replaces a repository file's content as an attacker or a broken disk would: new bytes, same name and size. */
  static void replace(Path file, byte[] content) {
    try {
      Path temp = file.resolveSibling(file.getFileName() + ".it-tamper");
      Files.write(temp, content);
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new HarnessException("cannot replace " + file + ": " + e, e);
    }
  }

  /** {@code original} with 16 bytes in the middle inverted (same length). */
  static byte[] flipped(byte[] original) {
    byte[] copy = original.clone();
    int at = copy.length / 2;
    for (int i = at; i < Math.min(copy.length, at + 16); i++) {
      copy[i] = (byte) ~copy[i];
    }
    return copy;
  }

  /** The stored report of one event on the server (its {@code 1.json}), parsed. */
  static JsonNode storedReport(RepoServer server, String node, String eventId) {
    Path file = server.root().resolve("feedback/hello").resolve(node).resolve(eventId).resolve("1.json");
    try {
      return JsonSupport.tree(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      throw new AssertionError("no stored report " + file + ": " + e, e);
    }
  }

  /**
   * Every event in the node's history was reported and stored exactly once: the outbox is empty,
   * every reportable event (one with a target version, or failed with a code) has exactly one
   * stored report ({@code 1.json}), and the server stores nothing the node's history does not have.
   *
   * @return figures for the results file: events, stored reports, events without a target
   */
  static Map<String, Object> assertOneReportPerEvent(RepoServer server, Node node) {
    NodeStatus status = node.status();
    assertThat(status.pendingReports()).as(node.id() + ": reports still in the outbox").isZero();
    List<UpdateRecord> history = node.history();
    Map<String, List<String>> stored = server.storedReports("hello", node.id());
    List<String> duplicated = new ArrayList<>();
    stored.forEach((event, files) -> {
      if (!files.equals(List.of("1.json"))) {
        duplicated.add(event + " " + files);
      }
    });
    assertThat(duplicated).as(node.id() + ": events stored other than once").isEmpty();
    Set<String> inHistory = history.stream().map(UpdateRecord::eventId).collect(Collectors.toSet());
    assertThat(inHistory).as(node.id() + ": stored reports of events the node does not know").containsAll(stored.keySet());
    // docs/node-updater.md: every event that resolved a target, or failed with a code, is reported.
    List<String> missing = history.stream()
        .filter(e -> e.toVersion() != null || (e.errorCode() != null && !e.errorCode().equals("INTERRUPTED")))
        .filter(e -> !stored.containsKey(e.eventId()))
        .map(e -> e.eventId() + " (" + e.outcome() + " " + e.errorCode() + " to " + e.toVersion() + ")").toList();
    assertThat(missing).as(node.id() + ": events whose report never reached the server").isEmpty();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("events", history.size());
    m.put("storedReports", stored.size());
    m.put("eventsWithoutTarget", history.stream().filter(e -> e.toVersion() == null).count());
    return m;
  }

  /** The names in {@code dir} (empty when it does not exist). */
  static List<String> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new HarnessException("cannot list " + dir + ": " + e, e);
    }
  }
}
