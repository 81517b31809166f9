package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.Schedule;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Rollout slots as leases ({@code POST /v1/leases}, {@code /confirm}, {@code /release}; DESIGN
 * section 7 and docs/rollouts.md). A node asks at GATE; it gets a signed {@link LeaseGrant} when
 * its wave is open, the rollout proceeds and the availability budget has room, else a {@code wait}
 * with the reason and when to ask again. It confirms just before STOP, holds the slot through
 * VERIFY (its heartbeats keep it) and gives it back with its outcome.
 *
 * <p>The budget: at most {@link Schedule#budget()} nodes of the rollout between STOP and healthy,
 * counting the slots held (both kinds) and the nodes of the fleet that are unavailable or unhealthy
 * without a slot. Slots are numbered {@code 0 .. budget-1} per kind; a grant takes the lowest free
 * one by creating its next generation exclusively, so two server processes that both see room
 * race for the same file and one wins: no slot is given twice.
 *
 * <p>Fencing: a confirmation or release naming an older generation than the slot's newest, or a
 * grant that expired, is {@code lost} (HTTP 409, {@code LEASE_LOST}). Nothing here is held in
 * memory that decides: the slots' files do.
 *
 * <p>Thread-safe.
 */
public final class LeaseService {
  /** How long a grant waits for its confirmation (the node confirms just before it stops its service). */
  public static final Duration CONFIRM_WINDOW = Duration.ofMinutes(2);

  /** Default heartbeat interval assumed for a holder the inventory does not know. */
  static final long DEFAULT_INTERVAL_SECONDS = 30;

  /** A lease call's answer and its HTTP status. */
  public record Answer(int status, LeaseAnswer body) {}

  /**
   * One slot as the budget sees it.
   *
   * @param active held: granted, not given back, not expired
   * @param lost its holder confirmed, then went silent past the lease (counted failed)
   */
  record Holding(Leases.Slot slot, boolean active, boolean lost) {}

  private final Leases leases;
  private final Decisions decisions;
  private final LiveRollouts rollouts;
  private final Inventory inventory;
  private final RolloutKey key;
  private final Clock clock;
  private final long retryAfterSeconds;
  private final LongAdder granted = new LongAdder();
  private final LongAdder expired = new LongAdder();

  /**
   * @param key the rollout key, or null: this server gives no leases (nodes wait)
   * @param retryAfterSeconds what a full budget tells nodes to wait (about two controller intervals)
   */
  public LeaseService(io.upgradekit.schema.store.RepositoryStore store, Decisions decisions, LiveRollouts rollouts, Inventory inventory, RolloutKey key,
      Clock clock, long retryAfterSeconds) {
    this.leases = new Leases(store);
    this.decisions = decisions;
    this.rollouts = rollouts;
    this.inventory = inventory;
    this.key = key;
    this.clock = clock;
    this.retryAfterSeconds = Math.max(1, retryAfterSeconds);
  }

  public long granted() {
    return granted.sum();
  }

  public long expired() {
    return expired.sum();
  }

  /** {@code POST /v1/leases}. */
  public Answer ask(Caller.Node caller, LeaseRequest request) throws IOException {
    requireSelf(caller, request);
    if (request.slot() != null) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, "a request for a slot names no slot or generation;"
          + " confirm with POST /v1/leases/confirm");
    }
    LiveRollouts.Rollout rollout = rollout(request.app(), request.version());
    if (key == null) {
      return wait(ErrorCode.ROLLOUT_PAUSED, "this server runs no rollout controller (started without"
          + " --rollout-key-file); waiting", null, null, 30);
    }
    RolloutView view = decisions.view(request.app(), request.version());
    Instant now = clock.instant();
    Schedule schedule = view.schedule();
    if (schedule == null) {
      return wait(ErrorCode.ROLLOUT_PAUSED, "the rollout of " + request.app() + " " + request.version()
          + " has not started" + (view.blockedReason() == null ? "" : ": " + view.blockedReason()), view, null, 10);
    }
    int wave = schedule.waveOf(request.node());
    LeaseGrant.Kind kind = request.kind();
    if (kind == LeaseGrant.Kind.UPGRADE) {
      switch (view.status()) {
        case HALTED -> {
          return wait(ErrorCode.ROLLOUT_HALTED, "the rollout is halted: nobody installs " + request.version(),
              view, wave, 30);
        }
        case RECALLING, RECALLED -> {
          return wait(ErrorCode.ROLLOUT_HALTED, "the release is recalled: nobody installs " + request.version(),
              view, wave, 30);
        }
        default -> { }
      }
      if (view.paused()) {
        return wait(ErrorCode.ROLLOUT_PAUSED, "the rollout is paused by an operator", view, wave, 10);
      }
      int open = view.status() == RolloutView.Status.COMPLETE ? schedule.size() : view.openWaves();
      if (wave >= open) {
        return wait(ErrorCode.WAVE_NOT_OPEN, "waiting for " + waveName(wave, schedule), view, wave, 10);
      }
    } else {
      if (view.status() != RolloutView.Status.RECALLING && view.status() != RolloutView.Status.RECALLED) {
        return wait(ErrorCode.ROLLOUT_PAUSED, "the release is not recalled", view, wave, 30);
      }
      if (wave < view.recallFrom()) {
        return wait(ErrorCode.WAVE_NOT_OPEN, "waiting for the recall to reach " + waveName(wave, schedule)
            + " (waves go back in reverse order)", view, wave, 10);
      }
    }
    for (int attempt = 0; attempt < 5; attempt++) {
      List<Holding> mine = scan(rollout, schedule, kind, now);
      List<Holding> other = scan(rollout, schedule, other(kind), now);
      for (Holding h : mine) {
        if (h.active() && h.slot().grant().node().equals(request.node())) {
          return new Answer(200, granted(h.slot().grant(), h.slot().envelope(), view, schedule, wave));
        }
      }
      Set<String> holders = new HashSet<>();
      int held = 0;
      for (Holding h : concat(mine, other)) {
        if (h.active()) {
          held++;
          holders.add(h.slot().grant().node());
        }
      }
      int down = down(rollout, holders, request.node(), now);
      int busy = held + down;
      Holding free = mine.stream().filter(h -> !h.active()).findFirst().orElse(null);
      if (busy >= schedule.budget() || free == null) {
        return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.SCOPE_FULL.name(),
            "waiting for a slot: " + busy + " of " + schedule.budget() + " busy"
                + (down > 0 ? " (" + down + " nodes down or unhealthy count against the budget)" : ""),
            wave, schedule.size(), view.openWaves(), busy, schedule.budget(), retryAfterSeconds, null));
      }
      Instant issued = now.truncatedTo(ChronoUnit.SECONDS);
      LeaseGrant grant = LeaseGrant.of(request.app(), request.version(), request.node(), kind, wave,
          free.slot().slot(), free.slot().generation() + 1, issued, issued.plus(CONFIRM_WINDOW));
      byte[] envelope = key.sign(DocumentType.LEASE, grant);
      if (leases.create(grant, envelope)) {
        granted.increment();
        if (free.slot().given()) {
          expired.increment(); // taken over from a holder whose lease ran out
        }
        return new Answer(200, granted(grant, envelope, view, schedule, wave));
      }
      // Another request (here or in another process) took that generation: look again.
    }
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.SCOPE_FULL.name(),
        "waiting for a slot: others took the free ones", wave, schedule.size(), view.openWaves(), null,
        schedule.budget(), retryAfterSeconds, null));
  }

  /** {@code POST /v1/leases/confirm}: just before STOP. */
  public Answer confirm(Caller.Node caller, LeaseRequest request) throws IOException {
    Leases.Slot slot = held(caller, request, "confirm");
    Instant now = clock.instant();
    if (slot.generation() != request.generation() || slot.grant() == null) {
      return lost(request, "slot " + request.slot() + " went to another holder (generation " + slot.generation()
          + ")");
    }
    if (slot.released()) {
      return lost(request, "this lease was given back already");
    }
    if (slot.confirmedAt() == null && !now.isBefore(slot.grant().expires())) {
      return lost(request, "the grant expired at " + slot.grant().expires() + " before it was confirmed");
    }
    if (slot.confirmedAt() != null && silent(slot.grant(), slot.confirmedAt(), now)) {
      return lost(request, "the node was silent past its lease");
    }
    leases.confirm(slot.grant(), now);
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.CONFIRMED, null, "slot " + request.slot()
        + " confirmed: hold it until the update is verified, keep sending heartbeats", slot.grant().wave(), null,
        null, null, null, null, null));
  }

  /** {@code POST /v1/leases/release}: after COMMITTED or ROLLED_BACK (also from a restarted updater). */
  public Answer release(Caller.Node caller, LeaseRequest request) throws IOException {
    Leases.Slot slot = held(caller, request, "release");
    if (slot.generation() != request.generation() || slot.grant() == null) {
      return lost(request, "slot " + request.slot() + " went to another holder (generation " + slot.generation()
          + ")");
    }
    leases.release(slot.grant(), clock.instant(), request.outcome());
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.RELEASED, null, "slot " + request.slot()
        + " given back", slot.grant().wave(), null, null, null, null, null, null));
  }

  private Leases.Slot held(Caller.Node caller, LeaseRequest request, String what) throws IOException {
    requireSelf(caller, request);
    if (request.slot() == null) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, "to " + what + " a lease, name its slot and"
          + " generation (from the grant)");
    }
    if (request.slot() >= 100_000) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, "slot " + request.slot() + " does not exist");
    }
    Leases.Slot slot = leases.read(request.app(), request.version(), request.kind(), request.slot());
    if (slot.grant() != null && slot.generation() == request.generation()
        && !slot.grant().node().equals(request.node())) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "slot " + request.slot() + " generation "
          + request.generation() + " is not node " + request.node() + "'s");
    }
    return slot;
  }

  /** The slots of one kind of a rollout, each with whether it is held now. */
  List<Holding> scan(LiveRollouts.Rollout rollout, Schedule schedule, LeaseGrant.Kind kind, Instant now)
      throws IOException {
    List<Holding> out = new ArrayList<>(schedule.budget());
    for (int n = 0; n < schedule.budget(); n++) {
      Leases.Slot slot = leases.read(rollout.app(), rollout.version(), kind, n);
      if (!slot.given()) {
        out.add(new Holding(slot, false, false));
      } else if (slot.confirmedAt() == null) {
        out.add(new Holding(slot, now.isBefore(slot.grant().expires()), false));
      } else {
        boolean silent = silent(slot.grant(), slot.confirmedAt(), now);
        out.add(new Holding(slot, !silent, silent));
      }
    }
    return out;
  }

  /** A confirmed holder is silent when neither its confirmation nor a heartbeat came within {@link Inventory#silenceAllowed}. */
  private boolean silent(LeaseGrant grant, Instant confirmedAt, Instant now) {
    Inventory.Entry entry = inventory.get(grant.node(), grant.app());
    Instant last = confirmedAt;
    long interval = DEFAULT_INTERVAL_SECONDS;
    if (entry != null) {
      interval = entry.heartbeat().intervalSeconds();
      if (entry.receivedAt().isAfter(last)) {
        last = entry.receivedAt();
      }
    }
    return !now.isBefore(last.plus(Inventory.silenceAllowed(interval)));
  }

  /** Nodes of the rollout's fleet that are down or unhealthy without a slot (they use up the budget too). */
  private int down(LiveRollouts.Rollout rollout, Set<String> holders, String asking, Instant now) {
    int down = 0;
    for (String channel : rollout.channels()) {
      for (Inventory.Entry e : inventory.nodes(rollout.app(), channel)) {
        String node = e.heartbeat().node();
        if (!node.equals(asking) && !holders.contains(node) && !e.healthy(now)) {
          down++;
        }
      }
    }
    return down;
  }

  LiveRollouts.Rollout rollout(String app, String version) throws IOException {
    Optional<LiveRollouts.Rollout> rollout = rollouts.get(app, version);
    if (rollout.isEmpty()) {
      rollouts.refresh();
      rollout = rollouts.get(app, version);
    }
    return rollout.orElseThrow(() -> new UpgradeException(ErrorCode.NOT_FOUND, app + " " + version
        + " has no rollout: no channel names it with a rollout plan (a release without <rollout> installs"
        + " without a lease)"));
  }

  private static void requireSelf(Caller.Node caller, LeaseRequest request) {
    if (!caller.id().equals(request.node())) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + caller.id() + " cannot ask for node "
          + request.node() + "'s slot; each node asks with its own credential");
    }
  }

  /**
   * A grant's answer. For a recall slot the message is the recall decision's reason: the node
   * records it as {@code recalled: <reason>} in its history and report.
   */
  private LeaseAnswer granted(LeaseGrant grant, byte[] envelope, RolloutView view, Schedule schedule, int wave) {
    String message = grant.kind() == LeaseGrant.Kind.RECALL ? recallReason(view) : "slot " + grant.slot()
        + " granted (generation " + grant.generation() + "); confirm it before " + grant.expires();
    return new LeaseAnswer(LeaseAnswer.Status.GRANTED, null, message, wave, schedule.size(), view.openWaves(),
        null, schedule.budget(), null, Leases.text(envelope));
  }

  private static String recallReason(RolloutView view) {
    List<RolloutDecision> log = view.log();
    for (int i = log.size() - 1; i >= 0; i--) {
      if (log.get(i).kind() == RolloutDecision.Kind.RECALL) {
        return log.get(i).reason();
      }
    }
    return "the release is recalled";
  }

  private static Answer wait(ErrorCode code, String message, RolloutView view, Integer wave, long retryAfter) {
    Schedule s = view == null ? null : view.schedule();
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, code.name(), message, wave,
        s == null ? null : s.size(), view == null ? null : view.openWaves(), null, s == null ? null : s.budget(),
        retryAfter, null));
  }

  private static Answer lost(LeaseRequest request, String why) {
    return new Answer(409, new LeaseAnswer(LeaseAnswer.Status.LOST, ErrorCode.LEASE_LOST.name(), "the lease on slot "
        + request.slot() + " generation " + request.generation() + " is lost: " + why + "; ask for a slot again",
        null, null, null, null, null, null, null));
  }

  static String waveName(int wave, Schedule schedule) {
    return wave == 0 && schedule.canary() > 0 ? "the canary wave" : "wave " + (wave + 1) + " of " + schedule.size();
  }

  private static LeaseGrant.Kind other(LeaseGrant.Kind kind) {
    return kind == LeaseGrant.Kind.UPGRADE ? LeaseGrant.Kind.RECALL : LeaseGrant.Kind.UPGRADE;
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
