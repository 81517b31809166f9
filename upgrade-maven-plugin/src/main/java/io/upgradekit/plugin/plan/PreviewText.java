package io.upgradekit.plugin.plan;

import java.util.ArrayList;
import java.util.List;

/** The preview as lines for a terminal or a build log. */
public final class PreviewText {
  /** Node ids a wave line lists at most (the JSON has all of them). */
  static final int MAX_LISTED_NODES = 20;

  private PreviewText() {}

  public static List<String> lines(Preview p) {
    List<String> out = new ArrayList<>();
    out.add("Rollout preview of " + (p.kind().equals("set") ? "release set " : "") + p.name() + " " + p.version()
        + (p.strategy() == null ? "" : ": " + p.strategy() + ", rollback " + p.rollbackPolicy()) + "; nodes on channel "
        + p.channel() + "; " + duration(p.nodeSeconds()) + " per node update");
    if (p.kind().equals("set")) {
      out.add("Order:");
      if (p.steps().isEmpty()) {
        out.add("  none: the set's dependencies cannot be ordered (see the problems)");
      }
      for (int s = 0; s < p.steps().size(); s++) {
        List<String> step = p.steps().get(s);
        List<String> named = new ArrayList<>();
        List<String> after = new ArrayList<>();
        for (String app : step) {
          Preview.Component c = find(p, app);
          named.add(app + " " + c.version());
          c.dependsOn().stream().filter(d -> !after.contains(d)).forEach(after::add);
        }
        out.add("  " + (s + 1) + ". " + String.join(", ", named) + (step.size() > 1 ? " (in parallel)" : "")
            + (after.isEmpty() ? "" : " after " + String.join(", ", after)));
      }
    }
    for (Preview.Component c : p.components()) {
      out.add(c.app() + " " + c.version() + ": " + (c.plan() == null ? "no rollout plan" : c.plan()
          + (c.source() == null ? "" : " [" + c.source() + "]")));
      if (c.budget() != null) {
        out.add("  fleet " + c.fleet() + " (" + c.unavailable() + " down or unhealthy now), " + c.minAvailable()
            + " stay available, " + c.budget() + " update at once; " + (p.kind().equals("set") ? "starts after "
            + duration(c.startsAtSeconds()) + ", " : "") + "takes ~" + duration(c.expectedSeconds())
            + (c.manualApproval() ? " plus an operator's approval before each next wave" : ""));
      } else if (c.fleet() != null) {
        out.add("  fleet " + c.fleet() + ": no waves (see the problems)");
      }
      for (Preview.Wave w : c.waves()) {
        List<String> ids = w.nodes().stream().limit(MAX_LISTED_NODES)
            .map(n -> n.id() + (n.available() ? "" : " (unavailable)")).toList();
        out.add("  " + w.name() + ": " + w.nodes().size() + " node" + (w.nodes().size() == 1 ? "" : "s") + ", "
            + w.slots() + " slot" + (w.slots() == 1 ? "" : "s") + ", ~" + duration(w.seconds()) + ": "
            + String.join(", ", ids) + (w.nodes().size() > ids.size() ? ", ... (" + (w.nodes().size() - ids.size())
            + " more)" : ""));
      }
    }
    out.add(p.expectedSeconds() > 0 ? "Expected duration: ~" + duration(p.expectedSeconds())
        + " (operator approvals and the server's start delay not counted)"
        : "Expected duration: none, the rollout cannot run as it is (see the problems)");
    if (p.problems().isEmpty()) {
      out.add("No problems found.");
    } else {
      out.add("Problems (" + p.problems().size() + "):");
      for (Preview.Problem problem : p.problems()) {
        out.add("  " + problem.code() + (problem.component() == null ? "" : " " + problem.component()) + ": "
            + problem.message());
      }
    }
    out.add("Nothing was changed.");
    return out;
  }

  private static Preview.Component find(Preview p, String app) {
    return p.components().stream().filter(c -> c.app().equals(app)).findFirst().orElseThrow();
  }

  /** {@code 45s}, {@code 12m}, {@code 1h 5m}, {@code 2d 3h}. */
  static String duration(long seconds) {
    if (seconds < 60) {
      return seconds + "s";
    }
    long minutes = seconds / 60;
    long rest = seconds % 60;
    if (minutes < 60) {
      return minutes + "m" + (rest == 0 ? "" : " " + rest + "s");
    }
    long hours = minutes / 60;
    if (hours < 24) {
      return hours + "h" + (minutes % 60 == 0 ? "" : " " + minutes % 60 + "m");
    }
    return hours / 24 + "d" + (hours % 24 == 0 ? "" : " " + hours % 24 + "h");
  }
}
