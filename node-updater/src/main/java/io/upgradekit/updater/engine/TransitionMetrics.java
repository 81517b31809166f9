package io.upgradekit.updater.engine;

import io.upgradekit.updater.journal.StateFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Renders transitions as Prometheus text in {@code state/metrics.prom} (for node_exporter's
 * textfile collector): transitions per state and outcome, and each state's last duration.
 * Written when an event reaches END, so the file changes once per update, not per poll.
 */
public final class TransitionMetrics implements Consumer<UpdateEvent> {
  private final Path file;
  private final Map<String, Long> counts = new TreeMap<>();
  private final Map<String, Long> lastMillis = new TreeMap<>();
  private final Consumer<String> log;

  public TransitionMetrics(Path file, Consumer<String> log) {
    this.file = file;
    this.log = log;
  }

  @Override
  public void accept(UpdateEvent event) {
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
      try {
        StateFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
      } catch (io.upgradekit.schema.UpgradeException e) {
        log.accept("cannot write " + file + ": " + e.getMessage());
      }
    }
  }
}
