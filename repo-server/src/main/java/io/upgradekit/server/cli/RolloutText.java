package io.upgradekit.server.cli;

import io.upgradekit.schema.api.RolloutList;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.RolloutDecision;
import java.util.Locale;

/** How {@code rollout status} prints the server's answers for a terminal. */
final class RolloutText {
  private RolloutText() {}

  static String kind(RolloutDecision.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static String list(RolloutList list) {
    StringBuilder out = new StringBuilder();
    if (!list.controller()) {
      out.append("(this server runs no rollout controller: no --rollout-key-file)\n");
    }
    if (list.rollouts().isEmpty()) {
      return out.append("no live rollouts (no channel names a release with a rollout plan)").toString();
    }
    out.append(String.format(Locale.ROOT, "%-24s %-16s %-12s %-8s %s%n", "APP", "VERSION", "STATUS", "WAVES",
        "LAST DECISION"));
    for (RolloutList.Summary s : list.rollouts()) {
      out.append(String.format(Locale.ROOT, "%-24s %-16s %-12s %-8s %s%n", s.app(), s.version(),
          s.status() + (s.paused() ? "*" : ""), s.waves() == null ? "-" : s.openWaves() + "/" + s.waves(),
          s.last() == null ? "-" : s.last()));
    }
    if (list.rollouts().stream().anyMatch(RolloutList.Summary::paused)) {
      out.append("* paused by an operator\n");
    }
    return out.toString().stripTrailing();
  }

  static String report(RolloutReport r) {
    StringBuilder out = new StringBuilder();
    out.append(r.app()).append(' ').append(r.version()).append(": ").append(r.status())
        .append(r.paused() ? " (paused)" : "").append('\n');
    if (r.blockedReason() != null) {
      out.append("  blocked: ").append(r.blockedReason()).append('\n');
    }
    out.append("  channels: ").append(String.join(", ", r.channels()))
        .append(r.fromVersion() == null ? "" : "; the fleet came from " + r.fromVersion()).append('\n');
    if (r.plan() != null) {
      out.append("  plan: ").append(RolloutCommand.plan(r.plan())).append('\n');
    }
    if (r.budget() != null) {
      out.append("  fleet ").append(r.fleet()).append(", ").append(r.minAvailable()).append(" stay available;")
          .append(" slots ").append(r.busy()).append(" of ").append(r.budget()).append(" busy; waves open ")
          .append(r.openWaves()).append(" of ").append(r.waves().size())
          .append(r.bakeLeftSeconds() > 0 ? "; bake left " + r.bakeLeftSeconds() + " s" : "")
          .append(r.recallFrom() == null ? "" : "; recalling from wave " + (r.recallFrom() + 1)).append('\n');
    }
    if (r.stateSequence() != null) {
      out.append("  signed state #").append(r.stateSequence()).append(", expires ").append(r.stateExpires())
          .append('\n');
    } else {
      out.append("  no signed state yet (nodes wait)\n");
    }
    if (r.judge() != null) {
      out.append("  judge: ").append(r.judge().outcome()).append(" - ").append(r.judge().reason()).append('\n');
    }
    for (RolloutReport.Wave w : r.waves()) {
      out.append(String.format(Locale.ROOT, "  %d. %s [%s] %d nodes: %d committed, %d failed, %d updating,"
          + " %d pending, %d unavailable%n", w.wave() + 1, w.name(), w.status(), w.size(), w.committed(), w.failed(),
          w.updating(), w.pending(), w.skipped()));
      for (RolloutReport.Node n : w.nodes()) {
        out.append(String.format(Locale.ROOT, "       %-28s %-12s %s%s%n", n.node(), n.state(),
            n.version() == null ? "-" : n.version(), n.available() && !n.healthy() ? " (unhealthy)" : ""));
      }
    }
    if (r.drills() != null && !r.drills().isEmpty()) {
      out.append("  drills (updater drill; the newest per node):\n");
      for (RolloutReport.Drill d : r.drills()) {
        out.append(String.format(Locale.ROOT, "   %s %-24s back to %s: %s in %.1f s; forward: %s%s%s%n", d.at(),
            d.node(), d.previous(), d.backOutcome(), d.backSeconds(),
            d.forwardOutcome() == null ? "not reported yet" : d.forwardOutcome(),
            d.forwardSeconds() == null ? "" : String.format(Locale.ROOT, " in %.1f s", d.forwardSeconds()),
            d.requests() == null ? "" : String.format(Locale.ROOT, "; %d of %d probe requests failed, longest gap"
                + " %.1f s", d.requestsFailed(), d.requests(), d.longestGapSeconds())));
      }
    }
    out.append("  actions:\n");
    for (RolloutDecision d : r.decisions()) {
      out.append(String.format(Locale.ROOT, "   #%d %s %s by %s: %s%n", d.sequence(), d.at(), kind(d.kind()),
          d.actor(), d.reason() == null ? "" : d.reason()));
    }
    return out.toString().stripTrailing();
  }
}
