package io.upgradekit.updater.engine;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.StateFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Renders the agent's events as Prometheus text in {@code state/metrics.prom} (for
 * node_exporter's textfile collector): transitions per state and outcome, each state's last
 * duration, and notes per level. Written when an event reaches END, so the file changes once per
 * event, not per poll.
 */
public final class TransitionMetrics implements Consumer<AgentEvent> {
  private final Path file;
  private final Map<String, Long> counts = new TreeMap<>();
  private final Map<String, Long> lastMillis = new TreeMap<>();
  private final Map<String, Long> notes = new TreeMap<>();
  private final Consumer<String> log;

  /** @param log where a failure to write the file is said */
  public TransitionMetrics(Path file, Consumer<String> log) {
    this.file = file;
    this.log = log;
  }

  @Override
  public void accept(AgentEvent event) {
    if (event instanceof AgentEvent.Note note) {
      notes.merge(note.level().name(), 1L, Long::sum);
    } else if (event instanceof AgentEvent.Transition t) {
      transition(t);
    }
  }

  private void transition(AgentEvent.Transition event) {
    if (event.from() != null) {
      counts.merge("state=\"" + event.from() + "\",outcome=\"" + event.fromOutcome() + "\"", 1L, Long::sum);
      lastMillis.put(event.from().name(), event.fromDuration().toMillis());
    }
    if (event.to() == UpdateState.END) {
      StringBuilder text = new StringBuilder();
      text.append("# HELP upgradekit_updater_transitions_total State exits by state and outcome.\n");
      text.append("# TYPE upgradekit_updater_transitions_total counter\n");
      counts.forEach((labels, n) -> text.append("upgradekit_updater_transitions_total{").append(labels).append("} ")
          .append(n).append('\n'));
      text.append("# HELP upgradekit_updater_state_seconds Duration of the last pass through each state.\n");
      text.append("# TYPE upgradekit_updater_state_seconds gauge\n");
      lastMillis.forEach((state, ms) -> text.append("upgradekit_updater_state_seconds{state=\"").append(state)
          .append("\"} ").append(ms / 1000.0).append('\n'));
      text.append("# HELP upgradekit_updater_notes_total Notes written, by level.\n");
      text.append("# TYPE upgradekit_updater_notes_total counter\n");
      notes.forEach((level, n) -> text.append("upgradekit_updater_notes_total{level=\"").append(level).append("\"} ")
          .append(n).append('\n'));
      try {
        StateFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
      } catch (UpgradeException e) {
        log.accept("cannot write " + file + ": " + e.getMessage());
      }
    }
  }
}
