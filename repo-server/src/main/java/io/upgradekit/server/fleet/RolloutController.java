package io.upgradekit.server.fleet;

import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.rollout.Controller;
import io.upgradekit.server.rollout.FleetSnapshot;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.Schedule;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The rollout controller's loop (every {@code --controller-interval}): for every live rollout, read
 * its decisions, build the fleet as it is now (heartbeats, stored reports, leases), ask the pure
 * {@link Controller} for the next decision, store it exclusively under the next sequence number
 * (if another process stored one first, read it and ask again), and keep the signed rollout state
 * fresh ({@link RolloutStates}). It keeps nothing that decides between ticks, so a restarted or a
 * second server process continues from the repository.
 *
 * <p>The loop runs a pass every interval, and sooner when one is due ({@link #tickIfDue}): when a
 * wave's bake time ends (so the next wave opens on time, and nodes told to come back then find it
 * open), and when the last slot held came back (its wave may be done). Every write of this process
 * refreshes the lease service's view of the rollout at once.
 *
 * <p>Not thread-safe: one timer thread calls {@link #tick}; {@link #propose} is for operator
 * actions and is safe beside it (the exclusive create orders them).
 */
public final class RolloutController {
  /** Decisions taken for one rollout in one tick at most (a start, an open wave, ...). */
  static final int MAX_DECISIONS_PER_TICK = 8;

  /** How often the loop looks whether a pass is due. */
  public static final long LOOK_MILLIS = 100;

  /** The least time between two passes that {@link #wake} asked for (many nodes give slots back at once). */
  static final Duration WAKE_SPACING = Duration.ofMillis(250);

  private final LiveRollouts rollouts;
  private final Decisions decisions;
  private final LeaseService leases;
  private final Inventory inventory;
  private final FleetIndex reports;
  private final RolloutStates states;
  private final SetRuns sets;
  private final Clock clock;
  private final Consumer<String> log;
  private final LongAdder taken = new LongAdder();
  private volatile Instant lastTick;
  private volatile Instant startsFrom = Instant.MIN;
  private volatile Instant due;
  private volatile boolean woken;

  /** @param sets the release sets' part of the controller */
  public RolloutController(LiveRollouts rollouts, Decisions decisions, LeaseService leases, Inventory inventory,
      FleetIndex reports, RolloutStates states, SetRuns sets, Clock clock, Consumer<String> log) {
    this.rollouts = rollouts;
    this.sets = sets;
    this.decisions = decisions;
    this.leases = leases;
    this.inventory = inventory;
    this.reports = reports;
    this.states = states;
    this.clock = clock;
    this.log = log;
  }

  /**
   * Starts no rollout by itself before {@code instant} (the fleet announces itself first: a
   * rollout started on a partial inventory would put most nodes in its last wave).
   */
  public void startNoRolloutBefore(Instant instant) {
    startsFrom = instant;
  }

  /** Decisions this process stored. */
  public long decisionsTaken() {
    return taken.sum();
  }

  /** When the loop last ran through, or null. */
  public Instant lastTick() {
    return lastTick;
  }

  /** Asks for a pass at the loop's next look (a slot was given back: a wave may be done). */
  public void wake() {
    woken = true;
  }

  /**
   * A pass if one is due: {@code interval} passed since the last, a bake time ended since the last,
   * or {@link #wake} was called (at most one such pass per {@link #WAKE_SPACING}). The loop calls
   * this often (every {@value #LOOK_MILLIS} ms); a look that finds nothing due costs nothing.
   *
   * @return whether a pass ran
   */
  public boolean tickIfDue(Duration interval) throws IOException {
    Instant now = clock.instant();
    Instant last = lastTick;
    Instant next = due;
    boolean intervalOver = last == null || now.isBefore(last) || !now.isBefore(last.plus(interval));
    boolean bakeOver = next != null && !now.isBefore(next) && (last == null || !last.isAfter(next));
    boolean wokenDue = woken && (last == null || !now.isBefore(last.plus(WAKE_SPACING)));
    if (!intervalOver && !bakeOver && !wokenDue) {
      return false;
    }
    woken = false;
    tick();
    return true;
  }

  /** The release sets' part. */
  public SetRuns sets() {
    return sets;
  }

  /**
   * One pass: the release sets first (which release belongs to which, their decisions and their
   * parts on components), then every live rollout (a set's component only starts when its set lets
   * it), then the sets' signed states, which reflect what the rollouts did in this pass.
   */
  public void tick() throws IOException {
    List<LiveRollouts.Rollout> live = rollouts.refresh();
    sets.refresh(live);
    sets.advance();
    long window = 300;
    Instant nextDue = null;
    for (LiveRollouts.Rollout rollout : live) {
      window = Math.max(window, rollout.plan().rollbackOrDefault().windowSecondsOrDefault());
      try {
        SetRuns.Hold hold = sets.hold(rollout);
        RolloutView view = advance(rollout, hold);
        ReleaseSet set = hold == null || hold.owner() == null ? null : hold.owner().set();
        // A held release gets a signed state too (a pause naming its set): its nodes show why they wait.
        if ((view.lastSequence() > 0 || hold != null)
            && states.publish(view, set, clock.instant()) == RolloutStates.Outcome.WRITTEN) {
          leases.changed(rollout.app(), rollout.version());
        }
        Instant bakeEnds = bakeEnds(view, rollout);
        if (bakeEnds != null && (nextDue == null || bakeEnds.isBefore(nextDue))) {
          nextDue = bakeEnds;
        }
      } catch (IOException | RuntimeException e) {
        log.accept("the rollout of " + rollout.app() + " " + rollout.version() + " did not advance: " + e.getMessage());
      }
    }
    sets.publish();
    inventory.sampleWindow(Duration.ofSeconds(window));
    due = nextDue;
    lastTick = clock.instant();
  }

  /** When the bake of the rollout's current wave ends, if it is baking now. */
  private static Instant bakeEnds(RolloutView view, LiveRollouts.Rollout rollout) {
    if (view.status() != RolloutView.Status.ACTIVE || view.openWaves() == 0) {
      return null;
    }
    Instant doneAt = view.waveDoneAt(view.openWaves() - 1);
    return doneAt == null ? null : doneAt.plusSeconds(rollout.plan().bakeSecondsOrDefault());
  }

  private RolloutView advance(LiveRollouts.Rollout rollout, SetRuns.Hold hold) throws IOException {
    RolloutView view = decisions.view(rollout.app(), rollout.version());
    for (int i = 0; i < MAX_DECISIONS_PER_TICK; i++) {
      Instant now = clock.instant();
      if (view.schedule() == null && (now.isBefore(startsFrom) || hold != null && !hold.mayStart())) {
        break; // the fleet announces itself first; a set's component starts when its set lets it
      }
      Optional<Controller.Proposal> proposal = Controller.decide(view, rollout.plan(), snapshot(rollout, view, now),
          now);
      if (proposal.isEmpty()) {
        break;
      }
      Optional<RolloutView> stored = propose(rollout, view, proposal.get(), RolloutDecision.CONTROLLER, now);
      if (stored.isPresent()) {
        log.accept(rollout.app() + " " + rollout.version() + ": " + stored.get().last().kind() + " ("
            + stored.get().last().reason() + ")");
      }
      view = decisions.view(rollout.app(), rollout.version());
    }
    return view;
  }

  /**
   * Stores a proposal as decision {@code view.lastSequence() + 1}.
   *
   * @return the new state, or empty if another writer took that sequence (read again and decide again)
   */
  Optional<RolloutView> propose(LiveRollouts.Rollout rollout, RolloutView view, Controller.Proposal p, String actor,
      Instant now) throws IOException {
    return propose(rollout, view, p, actor, null, now);
  }

  /** As above, for a decision that names a node (an operator's retry). */
  Optional<RolloutView> propose(LiveRollouts.Rollout rollout, RolloutView view, Controller.Proposal p, String actor,
      String node, Instant now) throws IOException {
    long sequence = view.lastSequence() + 1;
    Instant at = now.truncatedTo(ChronoUnit.MILLIS);
    RolloutDecision decision;
    if (p.assignment() != null) {
      Schedule s = p.assignment().schedule();
      decision = new RolloutDecision("decision", rollout.app(), rollout.version(), sequence, at, actor,
          RolloutDecision.Kind.START, p.reason(), null, null, fromVersion(rollout),
          s.waves(), s.fleet(), s.minAvailable(), s.budget(), s.canary());
    } else {
      decision = RolloutDecision.of(rollout.app(), rollout.version(), sequence, at, actor, p.kind(), p.reason(),
          p.wave(), node);
    }
    Optional<RolloutView> stored = decisions.append(decision);
    if (stored.isPresent()) {
      taken.increment();
      leases.changed(rollout.app(), rollout.version());
    }
    return stored;
  }

  /** The version most of the rollout's fleet runs other than the release (where a recall goes back to). */
  private String fromVersion(LiveRollouts.Rollout rollout) {
    Map<String, Integer> counts = new HashMap<>();
    for (Inventory.Entry e : fleet(rollout)) {
      String v = e.heartbeat().version();
      if (v != null && !v.equals(rollout.version())) {
        counts.merge(v, 1, Integer::sum);
      }
    }
    return counts.entrySet().stream()
        .max(Map.Entry.<String, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .map(Map.Entry::getKey).orElse(null);
  }

  List<Inventory.Entry> fleet(LiveRollouts.Rollout rollout) {
    List<Inventory.Entry> all = new ArrayList<>();
    for (String channel : rollout.channels()) {
      all.addAll(inventory.nodes(rollout.app(), channel));
    }
    return all;
  }

  /** The fleet as the controller judges it: heartbeats, the reports' outcomes, the leases held and lost. */
  FleetSnapshot snapshot(LiveRollouts.Rollout rollout, RolloutView view, Instant now) throws IOException {
    Set<String> updating = new HashSet<>();
    Set<String> lost = new HashSet<>();
    Set<String> recalling = new HashSet<>();
    if (view.schedule() != null) {
      for (LeaseService.Holding h : leases.scan(rollout, view.schedule(), LeaseGrant.Kind.UPGRADE, now)) {
        if (h.active()) {
          updating.add(h.slot().grant().node());
        } else if (h.lost()) {
          lost.add(h.slot().grant().node());
        }
      }
      if (view.status() == RolloutView.Status.RECALLING) {
        for (LeaseService.Holding h : leases.scan(rollout, view.schedule(), LeaseGrant.Kind.RECALL, now)) {
          if (h.active()) {
            recalling.add(h.slot().grant().node());
          }
        }
      }
    }
    List<FleetSnapshot.NodeFacts> nodes = new ArrayList<>();
    List<FleetSnapshot.VersionedSample> samples = new ArrayList<>();
    for (Inventory.Entry e : fleet(rollout)) {
      String node = e.heartbeat().node();
      Feedback report = reports.lastReport(node, rollout.app());
      FleetSnapshot.Outcome outcome = null;
      Instant outcomeAt = null;
      if (report != null && rollout.version().equals(report.toVersion())) {
        outcome = outcome(report.outcome());
        outcomeAt = outcome == null ? null : report.sentAt();
      }
      boolean healthy = e.healthy(now);
      if (!healthy && e.available(now) && outcome == FleetSnapshot.Outcome.COMMITTED
          && e.heartbeat().sentAt().isBefore(outcomeAt)) {
        // That heartbeat was sent while the node was switching (both times are the node's clock); the
        // updater checked the release healthy after it, before it reported COMMITTED. The node's next
        // heartbeat says how it is now: until then its report is the newer word.
        healthy = true;
      }
      nodes.add(new FleetSnapshot.NodeFacts(node, e.heartbeat().labels(), e.heartbeat().version(), e.available(now),
          healthy, outcome, outcomeAt, updating.contains(node), lost.contains(node) && !updating.contains(node),
          recalling.contains(node)));
    }
    for (String channel : rollout.channels()) {
      samples.addAll(inventory.samples(rollout.app(), channel));
    }
    return new FleetSnapshot(nodes, samples);
  }

  private static FleetSnapshot.Outcome outcome(String reported) {
    return switch (reported) {
      case "COMMITTED" -> FleetSnapshot.Outcome.COMMITTED;
      case "ROLLED_BACK" -> FleetSnapshot.Outcome.ROLLED_BACK;
      case "FAILED" -> FleetSnapshot.Outcome.FAILED;
      case "REFUSED" -> FleetSnapshot.Outcome.REFUSED;
      default -> null;
    };
  }
}
