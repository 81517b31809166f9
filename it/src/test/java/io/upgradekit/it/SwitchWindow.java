package io.upgradekit.it;

import io.upgradekit.it.load.LoadReport;
import io.upgradekit.it.load.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The load one node saw while its updater touched the service: from the start of {@code STOP} (the
 * first state that may affect what serves) to the start of {@code COMMIT} (or of {@code END_ACTION}
 * when the event did not commit), as {@code history --json} timed them, mapped onto the load run's
 * clock.
 *
 * @param node the node (the load target's name)
 * @param from the window's start, from the load run's start
 * @param to its end, from the load run's start
 * @param requests requests sent to the node within the window
 * @param failed those without a 2xx answer
 * @param failures failed requests by kind
 * @param longestGap the longest time within the window without a successful answer (edges included)
 * @param longestGapFrom where that gap began, from the load run's start
 */
record SwitchWindow(String node, Duration from, Duration to, int requests, int failed, Map<String, Integer> failures,
    Duration longestGap, Duration longestGapFrom) {

  static SwitchWindow of(LoadReport report, String node, UpdateRecord event) {
    Instant start = stepStart(event, "STOP");
    Instant end = stepStart(event, "COMMIT");
    if (end == null) {
      end = stepStart(event, "END_ACTION");
    }
    if (start == null || end == null) {
      throw new HarnessException(node + ": event " + event.eventId() + " has no STOP..COMMIT steps: " + event.states());
    }
    long fromNanos = Duration.between(report.startedAt(), start).toNanos();
    long toNanos = Duration.between(report.startedAt(), end).toNanos();
    int target = -1;
    for (int i = 0; i < report.targets().size(); i++) {
      if (report.targets().get(i).name().equals(node)) {
        target = i;
      }
    }
    if (target < 0) {
      throw new IllegalArgumentException("no load target " + node);
    }
    int requests = 0;
    int failed = 0;
    Map<String, Integer> failures = new TreeMap<>();
    List<Long> successes = new ArrayList<>();
    for (Sample s : report.samples()) {
      if (s.target() != target || s.startNanos() < fromNanos || s.startNanos() > toNanos) {
        continue;
      }
      requests++;
      if (s.ok()) {
        successes.add(s.endNanos());
      } else {
        failed++;
        failures.merge(s.failure(), 1, Integer::sum);
      }
    }
    successes.sort(Long::compare);
    long gap = 0;
    long gapFrom = fromNanos;
    long previous = fromNanos;
    for (long t : successes) {
      if (t - previous > gap) {
        gap = t - previous;
        gapFrom = previous;
      }
      previous = Math.max(previous, t);
    }
    if (toNanos - previous > gap) {
      gap = toNanos - previous;
      gapFrom = previous;
    }
    return new SwitchWindow(node, Duration.ofNanos(fromNanos), Duration.ofNanos(toNanos), requests, failed, failures,
        Duration.ofNanos(gap), Duration.ofNanos(gapFrom));
  }

  Duration length() {
    return to.minus(from);
  }

  /** Requests per second sent to the node within the window. */
  double rate() {
    double seconds = length().toNanos() / 1e9;
    return seconds <= 0 ? 0 : requests / seconds;
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("fromMs", E2eResults.ms(from));
    m.put("toMs", E2eResults.ms(to));
    m.put("lengthMs", E2eResults.ms(length()));
    m.put("requests", requests);
    m.put("ratePerSecond", Math.round(rate() * 10) / 10.0);
    m.put("failed", failed);
    m.put("failures", failures);
    m.put("longestGapMs", E2eResults.ms(longestGap));
    m.put("longestGapFromMs", E2eResults.ms(longestGapFrom));
    return m;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s: switch window %.2f s (%.2f..%.2f s), %d requests (%.0f/s), %d failed%s,"
        + " longest gap %.0f ms", node, length().toNanos() / 1e9, from.toNanos() / 1e9, to.toNanos() / 1e9, requests,
        rate(), failed, failures.isEmpty() ? "" : " " + failures, longestGap.toNanos() / 1e6);
  }

  private static Instant stepStart(UpdateRecord event, String state) {
    for (UpdateRecord.Step s : event.steps()) {
      if (s.state().equals(state)) {
        return s.startedAt();
      }
    }
    return null;
  }
}
