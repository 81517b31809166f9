package io.upgradekit.it;

import com.fasterxml.jackson.databind.SerializationFeature;
import io.upgradekit.it.load.LoadReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The numbers one IT measured, written as {@code <results>/<test>.json} (failsafe sets {@code
 * upgradekit.it.results} to {@code it/target/e2e-results}) so that they can be quoted, and printed
 * to the test log. Durations are stored as milliseconds ({@code ...Ms}), instants as ISO-8601.
 */
final class E2eResults {
  private final String test;
  private final Map<String, Object> root = new LinkedHashMap<>();

  private E2eResults(String test) {
    this.test = test;
    root.put("test", test);
    root.put("writtenAt", Instant.now().toString());
    Map<String, Object> host = new LinkedHashMap<>();
    host.put("cores", Runtime.getRuntime().availableProcessors());
    host.put("java", System.getProperty("java.version"));
    // 1 lets connections queued on an overlap's old listener move to the new one (hello-service README).
    host.put("tcpMigrateReq", tcpMigrateReq());
    root.put("host", host);
  }

  static E2eResults of(String test) {
    return new E2eResults(test);
  }

  /** The results directory: {@code upgradekit.it.results}, else {@code target/e2e-results}. */
  static Path directory() {
    String configured = System.getProperty("upgradekit.it.results");
    return Path.of(configured == null || configured.isBlank() ? "target/e2e-results" : configured);
  }

  /** A top-level section (created on first use), e.g. one per scenario. */
  @SuppressWarnings("unchecked")
  Map<String, Object> section(String name) {
    return (Map<String, Object>) root.computeIfAbsent(name, k -> new LinkedHashMap<String, Object>());
  }

  E2eResults put(String key, Object value) {
    root.put(key, value);
    return this;
  }

  /** Writes the file (again, with everything so far): after each scenario, so a later failure keeps earlier numbers. */
  Path write() {
    Path file = directory().resolve(test + ".json");
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, JsonSupport.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(root) + "\n");
    } catch (IOException e) {
      throw new HarnessException("cannot write " + file + ": " + e, e);
    }
    return file;
  }

  static Double ms(Duration d) {
    return d == null ? null : d.toNanos() / 1e6;
  }

  /** A load target's figures as plain numbers. */
  static Map<String, Object> stats(LoadReport.Stats s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requests", s.total());
    m.put("failed", s.failed());
    m.put("failures", new TreeMap<>(s.failures()));
    m.put("longestGapMs", ms(s.longestGap()));
    m.put("longestGapFromMs", ms(s.longestGapFrom()));
    m.put("p50Ms", ms(s.p50()));
    m.put("p99Ms", ms(s.p99()));
    m.put("maxMs", ms(s.max()));
    m.put("lateStarts", s.lateStarts());
    Map<String, Object> versions = new LinkedHashMap<>();
    s.versions().forEach((v, seen) -> versions.put(v, Map.of("answers", seen.count(), "firstMs", ms(seen.first()),
        "lastMs", ms(seen.last()))));
    m.put("versions", versions);
    return m;
  }

  /** Per state, milliseconds, as {@code history --json} recorded them. */
  static Map<String, Object> steps(UpdateRecord event) {
    return new LinkedHashMap<>(event.millisByState());
  }

  private static String tcpMigrateReq() {
    try {
      return Files.readString(Path.of("/proc/sys/net/ipv4/tcp_migrate_req")).strip();
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
