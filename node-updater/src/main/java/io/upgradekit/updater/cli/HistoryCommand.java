package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.engine.Home;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code updater history [--json]}: the diagnosis view. */
@Command(name = "history", mixinStandardHelpOptions = true,
    description = {
        "Lists every update event, oldest first, with every step: when it started, how long it took, its "
            + "outcome, error code and message; the event's notes (waiting at the gate, a regression not acted on, "
            + "a delta fallback, recovered state); baseline and watched metrics. An unfinished event is listed "
            + "last."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:shown", "1:the journal could not be read", "2:usage or configuration error"})
public final class HistoryCommand implements Callable<Integer> {
  @Mixin
  ConfigOption options;

  @Option(names = "--json", description = "Print a JSON array of events instead of text.")
  boolean json;

  @Option(names = "--last", paramLabel = "N", description = "Only the last N events (default: all).")
  int last;

  private final PrintStream out;
  private final PrintStream err;

  public HistoryCommand() {
    this(System.out, System.err);
  }

  public HistoryCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public Integer call() {
    List<JournalRecord> events;
    try {
      Home home = new Home(options.load().home());
      Journal journal = new Journal(home.journal(), home.history());
      events = new ArrayList<>(journal.history(note -> err.println("note: " + note)));
      try {
        journal.active().ifPresent(events::add);
      } catch (io.upgradekit.updater.journal.StateFiles.DamagedStateException e) {
        err.println("note: " + e.getMessage());
      }
    } catch (UpgradeException e) {
      return ConfigOption.fail(err, e);
    }
    if (last > 0 && events.size() > last) {
      events = events.subList(events.size() - last, events.size());
    }
    if (json) {
      out.println(new String(Json.canonicalBytes(events), StandardCharsets.UTF_8));
      return 0;
    }
    for (JournalRecord r : events) {
      out.println(r.startedAt() + "  " + r.eventId() + "  " + r.kind() + "  " + (r.fromVersion() == null ? "none"
          : r.fromVersion()) + " -> " + (r.toVersion() == null ? "?" : r.toVersion()) + "  "
          + (r.outcome() == null ? "UNFINISHED at " + r.state() : r.outcome())
          + (r.errorCode() == null ? "" : "  [" + r.errorCode() + "] " + r.message()));
      for (StepReport s : r.steps()) {
        out.printf("    %-10s %-7s %8d ms%s%n", s.state(), s.outcome(), s.durationMillis(),
            (s.errorCode() == null ? "" : "  [" + s.errorCode() + "]") + (s.message() == null ? "" : "  "
                + s.message()));
      }
      for (EventNote n : r.notesShown()) {
        out.printf("    note %-10s %s%n", n.state(), ("INFO".equals(n.level()) ? ""
            : n.level().toLowerCase(java.util.Locale.ROOT) + ": ") + n.message());
      }
      if (!r.metrics().isEmpty()) {
        out.println("    metrics: " + r.metrics());
      }
    }
    if (events.isEmpty()) {
      out.println("no update events yet");
    }
    return 0;
  }
}
