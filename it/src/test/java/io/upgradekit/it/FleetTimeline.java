package io.upgradekit.it;

import io.upgradekit.it.load.LoadReport;
import io.upgradekit.it.load.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * When each node of a fleet was between STOP and healthy during one release, as the nodes' own
 * histories and the load generator's clients saw it, never as the rollout controller thinks it
 * was: the figures the rollout's availability promise is checked against.
 */
final class FleetTimeline {
  private FleetTimeline() {}

  /** A span of time one node spent in some condition. */
  record Span(String node, Instant from, Instant to) {
    Span {
      if (to.isBefore(from)) {
        throw new IllegalArgumentException(node + ": a span cannot end (" + to + ") before it starts (" + from + ")");
      }
    }

    boolean overlaps(Span other) {
      return from.isBefore(other.to) && other.from.isBefore(to);
    }

    @Override
    public String toString() {
      return node + " " + from + " .. " + to;
    }
  }

  /** The most spans open at one instant, and when that first happened (empty input: 0 at null). */
  record Peak(int spans, Instant at, List<String> nodes) {}

  /**
   * The node's switch to {@code version} by its history: from the start of STOP (the first state
   * that touches what serves) to the start of COMMIT (healthy and verified; END_ACTION when the
   * event did not commit). Null when no event to {@code version} reached STOP.
   */
  static Span switchSpan(String node, List<UpdateRecord> history, String version) {
    Span span = null;
    for (UpdateRecord e : history) {
      if (!version.equals(e.toVersion()) || !"update".equals(e.kind())) {
        continue;
      }
      Instant stop = e.stepStart("STOP");
      if (stop == null) {
        continue;
      }
      Instant end = e.stepStart("COMMIT");
      if (end == null) {
        end = e.stepStart("END_ACTION");
      }
      if (end == null) {
        end = e.endedAt() != null ? e.endedAt() : Instant.now();
      }
      span = new Span(node, stop, end); // the last attempt (a retried node's first one failed)
    }
    return span;
  }

  /** Every event of the node's history to {@code version} that reached STOP, oldest first. */
  static List<Span> allSwitchSpans(String node, List<UpdateRecord> history, String version) {
    List<Span> out = new ArrayList<>();
    for (UpdateRecord e : history) {
      if (version.equals(e.toVersion()) && "update".equals(e.kind()) && e.stepStart("STOP") != null) {
        Instant end = e.stepStart("COMMIT") != null ? e.stepStart("COMMIT")
            : e.stepStart("END_ACTION") != null ? e.stepStart("END_ACTION") : e.endedAt();
        out.add(new Span(node, e.stepStart("STOP"), end == null ? Instant.now() : end));
      }
    }
    return out;
  }

  /**
   * The node's switch as its clients saw it: from the first answer of {@code newVersion} or the
   * last answer of {@code oldVersion}, whichever came first, to the other (during an overlap both
   * answer; a restart leaves a gap between them). Null when the load never saw both.
   */
  static Span clientSpan(LoadReport report, String node, String oldVersion, String newVersion) {
    LoadReport.Stats stats = report.target(node);
    LoadReport.VersionSeen old = stats.versions().get(oldVersion);
    LoadReport.VersionSeen next = stats.versions().get(newVersion);
    if (old == null || next == null) {
      return null;
    }
    Instant a = report.startedAt().plus(old.last());
    Instant b = report.startedAt().plus(next.first());
    return a.isBefore(b) ? new Span(node, a, b) : new Span(node, b, a);
  }

  /**
   * Per node, the spans in which its clients got failed requests: every failed request is a span
   * from its start to its end, merged when they touch within {@code join}.
   */
  static List<Span> failureSpans(LoadReport report, Duration join) {
    List<Span> out = new ArrayList<>();
    for (int t = 0; t < report.targets().size(); t++) {
      String node = report.targets().get(t).name();
      int target = t;
      List<Sample> failed = report.samples(s -> s.target() == target && !s.ok()).stream()
          .sorted(Comparator.comparingLong(Sample::startNanos)).toList();
      Span open = null;
      for (Sample s : failed) {
        Instant from = report.startedAt().plusNanos(s.startNanos());
        Instant to = report.startedAt().plusNanos(Math.max(s.startNanos(), s.endNanos()));
        if (open != null && !from.isAfter(open.to().plus(join))) {
          open = new Span(node, open.from(), to.isAfter(open.to()) ? to : open.to());
        } else {
          if (open != null) {
            out.add(open);
          }
          open = new Span(node, from, to);
        }
      }
      if (open != null) {
        out.add(open);
      }
    }
    return out;
  }

  /** The largest number of spans open at the same instant (a span's end and another's start at one instant do not overlap). */
  static Peak peak(List<Span> spans) {
    record Edge(Instant at, int delta, String node) {}
    List<Edge> edges = new ArrayList<>();
    for (Span s : spans) {
      if (s.from().isBefore(s.to())) {
        edges.add(new Edge(s.from(), 1, s.node()));
        edges.add(new Edge(s.to(), -1, s.node()));
      }
    }
    // Ends before starts at the same instant.
    edges.sort(Comparator.comparing(Edge::at).thenComparingInt(Edge::delta));
    int open = 0;
    int best = 0;
    Instant at = null;
    for (Edge e : edges) {
      open += e.delta();
      if (open > best) {
        best = open;
        at = e.at();
      }
    }
    List<String> nodes = new ArrayList<>();
    if (at != null) {
      Instant when = at;
      spans.stream().filter(s -> !s.from().isAfter(when) && s.to().isAfter(when)).forEach(s -> nodes.add(s.node()));
    }
    return new Peak(best, at, nodes);
  }

  /** Spans as plain figures for the results file: node → from/to in ms after {@code origin}. */
  static Map<String, Object> figures(List<Span> spans, Instant origin) {
    Map<String, Object> out = new TreeMap<>();
    for (Span s : spans) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("fromMs", E2eResults.ms(Duration.between(origin, s.from())));
      m.put("toMs", E2eResults.ms(Duration.between(origin, s.to())));
      out.put(s.node(), m);
    }
    return out;
  }
}
