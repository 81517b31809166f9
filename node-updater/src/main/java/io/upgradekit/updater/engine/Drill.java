package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.health.RequestProbe;
import io.upgradekit.updater.journal.NodeState;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code updater drill}: rehearses a rollback on purpose, through the code a real incident runs.
 *
 * <ol>
 *   <li><b>Back</b>: an event of kind {@code drill} switches from the installed release to the
 *       recorded previous version through ROLLBACK, exactly as a recall or {@code updater rollback}
 *       does ({@link Rollbacks#rollbackTo}: switch, restart, health check), but does not mark the
 *       release bad.
 *   <li><b>Forward</b>: an ordinary {@code update} event ({@link UpdateFlow}), as after an
 *       incident's fix: RESOLVE finds the channel's release, STAGE rebuilds it, GATE asks the
 *       rollout for a slot when the release has a plan (so the availability budget holds), then
 *       STOP, SWITCH, START, VERIFY with the watch window, COMMIT.
 * </ol>
 *
 * <p>While both run, an optional {@link RequestProbe} sends requests to the service as a client
 * would and counts those that failed. Each event carries its figures as metrics ({@code drill.leg},
 * {@code drill.seconds}, {@code drill.requests}, {@code drill.requests_failed}, {@code
 * drill.longest_gap_seconds}) and a note saying it is a drill, so repo-server shows them like any
 * event and lists the drills under the rollout.
 */
final class Drill {
  private final Parts parts;
  private final Rollbacks rollbacks;
  private final Function<Consumer<EventRun>, UpdateFlow> flows;

  /** @param flows an update flow whose event is shown to the given hook when it starts */
  Drill(Parts parts, Rollbacks rollbacks, Function<Consumer<EventRun>, UpdateFlow> flows) {
    this.parts = parts;
    this.rollbacks = rollbacks;
    this.flows = flows;
  }

  /**
   * @param probe the requests to count, or null for none (started and closed here)
   * @return the forward leg's result, with a message covering both legs; FAILED when the back leg
   *     could not start or failed
   */
  Result run(RequestProbe probe) {
    Home home = parts.home();
    String release = home.currentVersion().orElse(null);
    String previous = NodeState.read(home.nodeFile()).previous();
    EventRun back = EventRun.start(parts, EventKind.DRILL, release, previous == null ? "unknown" : previous);
    if (parts.config().service().strategy() == Strategy.SELF) {
      return refuse(back, new UpgradeException(ErrorCode.CONFIG_INVALID, "a drill switches a service, and this"
          + " target is the updater itself (service.strategy: self): drill the services it updates instead"));
    }
    if (release == null || previous == null || previous.equals(release) || !home.versionsOnDisk().contains(previous)) {
      return refuse(back, new UpgradeException(ErrorCode.NO_PREVIOUS_VERSION, "a drill switches back to the"
          + " previous version and forward again, and this node has none on disk (installed: " + release
          + ", previous: " + previous + ", on disk: " + home.versionsOnDisk() + "); drill a node that updated"
          + " at least once and keeps its previous version (retention of 2 or more)"));
    }
    if (probe != null) {
      probe.start();
    }
    try {
      parts.events().info("drill: switching back to " + previous + " as in an incident (ROLLBACK), then forward to "
          + release + " again through an ordinary update (leg 1 of 2)");
      long backStart = System.nanoTime();
      back.beforeEnd(run -> run.metrics(figures(1, backStart, probe)));
      Result backResult;
      back.enter(UpdateState.ROLLBACK);
      try {
        rollbacks.rollbackTo(previous);
        backResult = back.end(Outcome.ROLLED_BACK, null, "drill: back on " + previous + " after "
            + seconds(backStart));
      } catch (UpgradeException e) {
        back.error(e);
        back.failNext(e);
        backResult = back.end(Outcome.FAILED, e.code(), "drill: the switch back to " + previous + " failed: "
            + e.getMessage());
      }
      // Forward in any case: a failed switch back must not leave the node off its release.
      long forwardStart = System.nanoTime();
      Result forward = flows.apply(run -> {
        parts.events().info("drill: forward to the channel's release again through an ordinary update (leg 2 of 2)");
        run.beforeEnd(r -> r.metrics(figures(2, forwardStart, probe)));
      }).run(false);
      String summary = "drill: " + (backResult.outcome() == Outcome.ROLLED_BACK ? "back on " + previous
          + " in " + seconds(backStart, forwardStart) : "the switch back failed (" + backResult.message() + ")")
          + "; forward: " + forward.outcome().name().toLowerCase(Locale.ROOT) + " (" + forward.message() + ")";
      if (backResult.outcome() != Outcome.ROLLED_BACK) {
        return new Result(Outcome.FAILED, backResult.code(), summary, forward.version(), null);
      }
      return new Result(forward.outcome(), forward.code(), summary, forward.version(), forward.retryAfter());
    } finally {
      if (probe != null) {
        probe.close();
      }
    }
  }

  private static Map<String, Double> figures(int leg, long startNanos, RequestProbe probe) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("drill.leg", (double) leg);
    m.put("drill.seconds", (System.nanoTime() - startNanos) / 1e9);
    if (probe != null) {
      RequestProbe.Figures f = probe.take();
      m.put("drill.requests", (double) f.requests());
      m.put("drill.requests_failed", (double) f.failed());
      m.put("drill.longest_gap_seconds", f.longestGapMillis() / 1000.0);
    }
    return m;
  }

  private static String seconds(long startNanos) {
    return seconds(startNanos, System.nanoTime());
  }

  private static String seconds(long startNanos, long endNanos) {
    return String.format(Locale.ROOT, "%.1f s", (endNanos - startNanos) / 1e9);
  }

  private static Result refuse(EventRun run, UpgradeException e) {
    run.error(e);
    run.failNext(e);
    return run.end(Outcome.FAILED, e.code(), e.getMessage());
  }
}
