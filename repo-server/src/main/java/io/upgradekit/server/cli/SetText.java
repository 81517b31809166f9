package io.upgradekit.server.cli;

import io.upgradekit.schema.api.SetList;
import io.upgradekit.schema.api.SetReport;
import io.upgradekit.schema.model.SetDecision;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How {@code rollout status --sets} and {@code --set} print the server's answers for a terminal. */
final class SetText {
  private SetText() {}

  static String list(SetList list) {
    StringBuilder out = new StringBuilder();
    if (!list.controller()) {
      out.append("(this server runs no rollout controller: no --rollout-key-file)\n");
    }
    if (list.sets().isEmpty()) {
      return out.append("no running release sets (none is published, or no channel names any of their components'"
          + " releases)").toString();
    }
    out.append(String.format(Locale.ROOT, "%-24s %-16s %-12s %-6s %s%n", "SET", "VERSION", "STATUS", "DONE",
        "NOW"));
    for (SetList.Summary s : list.sets()) {
      out.append(String.format(Locale.ROOT, "%-24s %-16s %-12s %-6s %s%n", s.name(), s.version(),
          s.status() + (s.paused() ? "*" : ""), s.complete() + "/" + s.components(),
          s.reason() == null ? "-" : s.reason()));
    }
    if (list.sets().stream().anyMatch(SetList.Summary::paused)) {
      out.append("* paused by an operator\n");
    }
    return out.toString().stripTrailing();
  }

  static String report(SetReport r) {
    StringBuilder out = new StringBuilder();
    out.append("release set ").append(r.name()).append(' ').append(r.version()).append(": ").append(r.status())
        .append(r.paused() ? " (paused)" : "").append(" (").append(r.strategy()).append(", rollback_policy ")
        .append(r.rollbackPolicy()).append(")\n");
    if (r.reason() != null) {
      out.append("  now: ").append(r.reason()).append('\n');
    }
    List<String> steps = new ArrayList<>();
    for (int i = 0; i < r.steps().size(); i++) {
      steps.add((i + 1) + ". " + String.join(" + ", r.steps().get(i)));
    }
    out.append("  order: ").append(String.join("  ", steps)).append('\n');
    if (r.stateSequence() != null) {
      out.append("  signed set state #").append(r.stateSequence()).append(", expires ").append(r.stateExpires())
          .append('\n');
    } else {
      out.append("  no signed set state yet (its components' nodes wait)\n");
    }
    int width = r.components().stream().mapToInt(c -> c.app().length()).max().orElse(4);
    for (SetReport.Component c : r.components()) {
      StringBuilder line = new StringBuilder();
      if (!c.waitingFor().isEmpty()) {
        line.append("for ").append(String.join(", ", c.waitingFor())).append("; ");
      }
      if (c.rollout() != null) {
        line.append("rollout ").append(c.rollout()).append(c.rolloutPaused() ? " (paused)" : "");
        if (c.waves() != null) {
          line.append(", waves ").append(c.openWaves()).append('/').append(c.waves());
        }
        line.append("; ");
      }
      if (!c.channels().isEmpty()) {
        line.append("channels ").append(String.join(", ", c.channels())).append("; ");
      }
      if (c.note() != null) {
        line.append(c.note()).append("; ");
      }
      String detail = line.length() < 2 ? "" : line.substring(0, line.length() - 2);
      out.append(String.format(Locale.ROOT, "  %-" + width + "s %-16s %-10s %s", c.app(), c.version(), c.status(),
          detail).stripTrailing()).append('\n');
    }
    if (!r.contracts().isEmpty()) {
      out.append("  contracts:\n");
      for (SetReport.Contract c : r.contracts()) {
        out.append("    ").append(c.contract()).append(": ").append(c.met() ? "met" : "unmet")
            .append(c.binds() ? "" : " (does not bind the set's " + c.app() + ")").append(" - ").append(c.detail())
            .append('\n');
      }
    }
    out.append("  actions:\n");
    for (SetDecision d : r.decisions()) {
      out.append("   #").append(d.sequence()).append(' ').append(d.at()).append(' ').append(d.kindName())
          .append(" by ").append(d.actor()).append(d.reason() == null ? "" : ": " + d.reason())
          .append(d.apps().isEmpty() ? "" : " [" + String.join(", ", d.apps()) + "]").append('\n');
    }
    return out.toString().stripTrailing();
  }
}
