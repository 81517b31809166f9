package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.engine.Heartbeats;
import io.upgradekit.updater.engine.TargetStatus;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.JournalRecord;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code updater status [--json]}. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {
        "Shows the target: current and previous version, versions on disk, whether the service runs, an update "
            + "in progress (or interrupted), the last event, reports waiting for the server, releases marked bad, "
            + "damaged state files (the next run moves them aside and rebuilds them); what a release's rollout makes "
            + "this node wait for, the rollout slot it holds, failed heartbeats, and when each signed document it "
            + "trusts expires (trust root, channel pointer, the running release's manifest and rollout state).",
        "Reads only; takes no lock."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:shown", "1:the state could not be read", "2:usage or configuration error"})
public final class StatusCommand implements Callable<Integer> {
  @Mixin
  ConfigOption options;

  @Option(names = "--json", description = "Print one JSON object (stable member names) instead of text.")
  boolean json;

  private final PrintStream out;
  private final PrintStream err;

  public StatusCommand() {
    this(System.out, System.err);
  }

  public StatusCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public Integer call() {
    TargetStatus status;
    try {
      status = TargetStatus.read(options.load());
    } catch (UpgradeException e) {
      return ConfigOption.fail(err, e);
    }
    if (json) {
      out.println(new String(Json.canonicalBytes(status), StandardCharsets.UTF_8));
      return 0;
    }
    out.println("app:              " + status.app() + " (channel " + status.channel() + ")");
    out.println("current:          " + orNone(status.current()));
    out.println("previous:         " + orNone(status.previous()));
    out.println("versions on disk: " + (status.versionsOnDisk().isEmpty() ? "none"
        : String.join(", ", status.versionsOnDisk())));
    out.println("service:          " + (status.serviceRunning() == null ? "unknown (no pid file)"
        : status.serviceRunning() ? "running" : "not running"));
    if (status.updateInProgress() != null) {
      JournalRecord r = status.updateInProgress();
      out.println("in progress:      " + r.eventId() + " at " + r.state() + " since " + r.stateStartedAt()
          + " (to " + orNone(r.toVersion()) + "; if no updater runs, the next start reconciles it)");
    }
    if (status.lastEvent() != null) {
      JournalRecord r = status.lastEvent();
      out.println("last event:       " + r.outcome() + " " + orNone(r.fromVersion()) + " -> " + orNone(r.toVersion())
          + " at " + r.endedAt() + (r.errorCode() == null ? "" : " [" + r.errorCode() + "] " + r.message()));
    }
    if (status.waiting() != null) {
      NodeState.Wait w = status.waiting();
      out.println("waiting:          " + w.message() + " [" + w.code() + "] (" + w.kind() + " of " + w.version()
          + ", since " + w.since() + ")");
    }
    if (status.lease() != null) {
      NodeState.Lease l = status.lease();
      out.println("rollout slot:     " + l.slot() + " (generation " + l.generation() + ", wave " + (l.wave() + 1)
          + ") for the " + l.kind() + " of " + l.version() + (l.outcome() != null ? ", to be returned ("
          + l.outcome() + ")" : l.confirmed() ? ", confirmed" : ", not confirmed yet"));
    }
    if (status.heartbeats() != null) {
      Heartbeats.Record h = status.heartbeats();
      out.println("heartbeats:       " + (h.failedInARow() > 0 ? h.failedInARow() + " failed in a row (last at "
          + h.lastFailureAt() + ": " + h.lastFailure() + "); " : "") + h.failed() + " failed in all"
          + (h.lastSentAt() == null ? "" : "; one got through at " + h.lastSentAt()));
    }
    out.println("pending reports:  " + status.pendingReports());
    for (TargetStatus.Trusted t : status.trusted()) {
      out.println("trusts:           " + t.name() + (t.expired() ? ", EXPIRED at " : ", expires ") + t.expires()
          + (t.fix() == null ? "" : (t.expired() ? ": the node refuses it; " : ": soon; ") + t.fix()));
    }
    if (!status.badReleases().isEmpty()) {
      out.println("bad releases:     " + String.join(", ", status.badReleases()));
    }
    for (String d : status.damaged()) {
      out.println("damaged:          " + d);
    }
    return 0;
  }

  private static String orNone(String s) {
    return s == null ? "none" : s;
  }
}
