package io.upgradekit.it.load;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * What a load run saw, per target and over all targets.
 *
 * @param rate requests per second over all targets
 * @param startedAt wall-clock start
 * @param duration from the start to the stop
 * @param targets per target, in the run's order
 * @param overall every request together
 * @param samples every request, in completion order
 */
public record LoadReport(int rate, Instant startedAt, Duration duration, List<Stats> targets, Stats overall,
    List<Sample> samples) {

  public LoadReport {
    targets = List.copyOf(targets);
    samples = List.copyOf(samples);
  }

  /**
   * Statistics of one target (or of all).
   *
   * @param name the target's name ({@code all} for the overall figures)
   * @param total requests that completed or failed
   * @param failed requests without a 2xx answer
   * @param failures failed requests by kind ({@link Sample#failure()})
   * @param longestGap the longest time without a successful answer (from the start to the first
   *     success, between two successes, or from the last success to the stop)
   * @param longestGapFrom where that gap began, from the start
   * @param p50 median latency of successful requests
   * @param p90 90th percentile
   * @param p99 99th percentile
   * @param max the slowest successful request
   * @param lateStarts requests sent more than 50 ms after their scheduled time (the client fell behind;
   *     0 means the rate was really offered)
   * @param versions per version answered ({@code X-Version}): how often, first and last seen
   */
  public record Stats(String name, int total, int failed, Map<String, Integer> failures, Duration longestGap,
      Duration longestGapFrom, Duration p50, Duration p90, Duration p99, Duration max, int lateStarts,
      Map<String, VersionSeen> versions) {
    public Stats {
      failures = Map.copyOf(failures);
      versions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(versions));
    }

    public int succeeded() {
      return total - failed;
    }

    /** "refused 12, reset 1", or "none". */
    public String failureSummary() {
      if (failures.isEmpty()) {
        return "none";
      }
      StringBuilder b = new StringBuilder();
      new TreeMap<>(failures).forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
      return b.toString();
    }
  }

  /**
   * A version seen in answers.
   *
   * @param count answers from it
   * @param first first answer's end, from the start
   * @param last last answer's end, from the start
   */
  public record VersionSeen(int count, Duration first, Duration last) {}

  /** The figures of the target named {@code name}. */
  public Stats target(String name) {
    return targets.stream().filter(t -> t.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no target " + name + " in " + targets.stream().map(Stats::name).toList()));
  }

  /** Failed requests, in the order they were scheduled. */
  public List<Sample> failures() {
    return samples.stream().filter(s -> !s.ok()).sorted(Comparator.comparingLong(Sample::scheduledNanos)).toList();
  }

  /** The requests {@code filter} selects. */
  public List<Sample> samples(Predicate<Sample> filter) {
    return samples.stream().filter(filter).toList();
  }

  /** A plain-text table: one line per target and one for all. */
  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-10s %8s %7s %12s %8s %8s %8s  %s%n", "target", "requests", "failed",
        "longest gap", "p50", "p99", "max", "failures"));
    List<Stats> rows = new ArrayList<>(targets);
    rows.add(overall);
    for (Stats s : rows) {
      b.append(String.format(Locale.ROOT, "%-10s %8d %7d %12s %8s %8s %8s  %s%n", s.name(), s.total(), s.failed(),
          millis(s.longestGap()), millis(s.p50()), millis(s.p99()), millis(s.max()), s.failureSummary()));
    }
    return b.toString();
  }

  /** {@code 12 ms}, {@code 1.25 s}. */
  public static String millis(Duration d) {
    if (d == null) {
      return "-";
    }
    double ms = d.toNanos() / 1e6;
    if (ms < 10) {
      return String.format(Locale.ROOT, "%.1f ms", ms);
    }
    if (ms < 1000) {
      return String.format(Locale.ROOT, "%.0f ms", ms);
    }
    return String.format(Locale.ROOT, "%.2f s", ms / 1000);
  }

  static LoadReport of(List<LoadGenerator.Target> targets, int rate, Instant startedAt, long endNanos,
      List<Sample> samples) {
    List<Stats> per = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      int index = i;
      per.add(stats(targets.get(i).name(), samples.stream().filter(s -> s.target() == index).toList(), endNanos));
    }
    return new LoadReport(rate, startedAt, Duration.ofNanos(endNanos), per, stats("all", samples, endNanos), samples);
  }

  private static Stats stats(String name, List<Sample> samples, long endNanos) {
    int failed = 0;
    Map<String, Integer> failures = new TreeMap<>();
    List<Long> latencies = new ArrayList<>();
    List<Long> successEnds = new ArrayList<>();
    Map<String, long[]> versions = new LinkedHashMap<>();
    int late = 0;
    List<Sample> ordered = new ArrayList<>(samples);
    ordered.sort(Comparator.comparingLong(Sample::endNanos));
    for (Sample s : ordered) {
      if (s.startNanos() - s.scheduledNanos() > 50_000_000L) {
        late++;
      }
      if (!s.ok()) {
        failed++;
        failures.merge(s.failure(), 1, Integer::sum);
        continue;
      }
      latencies.add(s.latencyNanos());
      successEnds.add(s.endNanos());
      if (s.version() != null) {
        long[] v = versions.computeIfAbsent(s.version(), k -> new long[] {0, s.endNanos(), s.endNanos()});
        v[0]++;
        v[2] = s.endNanos();
      }
    }
    long gap = 0;
    long gapFrom = 0;
    long previous = 0;
    for (long end : successEnds) {
      if (end - previous > gap) {
        gap = end - previous;
        gapFrom = previous;
      }
      previous = end;
    }
    if (endNanos - previous > gap) {
      gap = endNanos - previous;
      gapFrom = previous;
    }
    latencies.sort(Long::compare);
    Map<String, VersionSeen> seen = new LinkedHashMap<>();
    versions.forEach((k, v) -> seen.put(k, new VersionSeen((int) v[0], Duration.ofNanos(v[1]), Duration.ofNanos(v[2]))));
    return new Stats(name, samples.size(), failed, failures, Duration.ofNanos(gap), Duration.ofNanos(gapFrom),
        percentile(latencies, 0.50), percentile(latencies, 0.90), percentile(latencies, 0.99),
        latencies.isEmpty() ? null : Duration.ofNanos(latencies.get(latencies.size() - 1)), late, seen);
  }

  private static Duration percentile(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return null;
    }
    int index = (int) Math.ceil(p * sorted.size()) - 1;
    return Duration.ofNanos(sorted.get(Math.max(0, Math.min(sorted.size() - 1, index))));
  }
}
