package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.rollout.Controller;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
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
 * <p>A request reads no file on the way to a {@code wait}: the slots come from {@link Leases}'
 * tables, the rollout's decisions and the signed state's open waves from a view, and the nodes down
 * from a list of suspects, each read again when older than {@link Leases#FRESH_FOR} (the
 * controller of this process refreshes the view at once after it decided or signed). A wave is
 * open for grants only when the stored signed state opens it too, so a node never receives a grant
 * that its copy of the state does not back. A {@code wait} for a wave tells the node to ask again
 * when the wave can open at the earliest (the bake time left, and a bake time for each wave
 * between), not every few seconds.
 *
 * <p>Thread-safe.
 */
public final class LeaseService {
  /** How long a grant waits for its confirmation (the node confirms just before it stops its service). */
  public static final Duration CONFIRM_WINDOW = Duration.ofMinutes(2);

  /** Default heartbeat interval assumed for a holder the inventory does not know. */
  static final long DEFAULT_INTERVAL_SECONDS = 30;

  /** The longest a waiting node is told to wait before it asks again. */
  static final long MAX_RETRY_SECONDS = 60;

  /**
   * Grants being written to the store at once, at most. A grant is a create-if-absent write (an
   * fsync on a directory, a conditional PUT on S3); beyond this many in flight a request is told
   * to ask again in a second rather than hold a request thread while the store catches up, so a
   * wave's herd on a slow store cannot starve heartbeats and the other endpoints of threads.
   */
  public static final int MAX_GRANT_WRITES = 16;

  /**
   * Confirmations and returns of slots being handled at once, at most (each reads its slot from the
   * store and writes it). A wave's nodes confirm and return their slots in a herd too; beyond this
   * many in flight one is answered 429 with {@code Retry-After: 1} at once (the updater takes that
   * as a pause: nothing live changed before a confirmation, and a slot not yet returned is returned
   * by the next run), so the request threads left serve heartbeats, polls and the rest.
   */
  public static final int MAX_HELD_WRITES = 32;

  /** What a node is told to wait past the earliest moment its wave can open (the controller's moment to open it). */
  static final Duration OPENING_MARGIN = Duration.ofMillis(500);

  /**
   * What a release set asks of a slot request (docs/release-sets.md): a release of a set waits for
   * the set's order and for the set's contracts.
   */
  public interface SetGate {
    /** The wait for a contract of the release's set that the fleet does not meet now, or null. */
    SetWait check(String app, String version);

    /** Why a rollout that has not started waits for its set, or null. */
    String held(LiveRollouts.Rollout rollout) throws IOException;
  }

  /** A wait a release set imposes. */
  public record SetWait(ErrorCode code, String message, long retryAfterSeconds) {}

  private static final SetGate NO_SETS = new SetGate() {
    @Override
    public SetWait check(String app, String version) {
      return null;
    }

    @Override
    public String held(LiveRollouts.Rollout rollout) {
      return null;
    }
  };

  /** A lease call's answer and its HTTP status. */
  public record Answer(int status, LeaseAnswer body) {}

  /**
   * One slot as the budget sees it.
   *
   * @param active held: granted, not given back, not expired
   * @param lost its holder confirmed, then went silent past the lease (counted failed)
   */
  record Holding(Leases.Slot slot, boolean active, boolean lost) {}

  /**
   * What a request needs to know of a rollout besides its slots, as read at {@code at}.
   *
   * @param signedOpen the waves the stored signed state opens (0 without a state)
   */
  /** A rollout's decisions and the waves its stored signed state opens, as of {@code at}. */
  record Gate(RolloutView view, int signedOpen, Instant at) {}

  /** The nodes of a rollout's fleet that were down or unhealthy at {@code at}; each is checked again when counted. */
  private record Suspects(List<String> nodes, Instant at) {}

  private final Leases leases;
  private final RepositoryStore store;
  private final Decisions decisions;
  private final LiveRollouts rollouts;
  private final Inventory inventory;
  private final RolloutKey key;
  private final Clock clock;
  private final long retryAfterSeconds;
  private final LongAdder granted = new LongAdder();
  private final LongAdder expired = new LongAdder();
  private final LongAdder busy = new LongAdder();
  private final Semaphore grantWrites = new Semaphore(MAX_GRANT_WRITES);
  private final Semaphore heldWrites = new Semaphore(MAX_HELD_WRITES);
  private final ConcurrentHashMap<String, Gate> gates = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Suspects> suspects = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Set<String>> reservations = new ConcurrentHashMap<>();
  private volatile Runnable onRelease = () -> { };
  private volatile SetGate sets = NO_SETS;

  /**
   * @param key the rollout key, or null: this server gives no leases (nodes wait)
   * @param retryAfterSeconds what a full budget tells nodes to wait (about two controller intervals)
   */
  public LeaseService(RepositoryStore store, Decisions decisions, LiveRollouts rollouts, Inventory inventory,
      RolloutKey key, Clock clock, long retryAfterSeconds) {
    this.leases = new Leases(store, clock);
    this.store = store;
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

  /**
   * Requests told to ask again because the store was busy: slot requests beyond {@link
   * #MAX_GRANT_WRITES} grants being written, confirmations and returns beyond {@link #MAX_HELD_WRITES}.
   */
  public long busy() {
    return busy.sum();
  }

  /**
   * Runs {@code listener} when a slot given back leaves no slot of its rollout held in this
   * process's tables (the controller looks whether a wave is done).
   */
  public void onRelease(Runnable listener) {
    onRelease = listener;
  }

  /** The release sets' checks every slot request passes (the server wires its {@link SetRuns}). */
  public void setGate(SetGate gate) {
    sets = gate;
  }

  /** The rollout's decisions or signed state changed in this process: the next request reads them again. */
  void changed(String app, String version) {
    gates.remove(LiveRollouts.key(app, version));
  }

  /** Whether this server runs the rollout controller (it holds the rollout key): else it grants nothing. */
  boolean controlled() {
    return key != null;
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
    Instant now = clock.instant();
    Gate gate = gate(rollout, now);
    RolloutView view = gate.view();
    Schedule schedule = view.schedule();
    if (schedule == null) {
      String held = sets.held(rollout);
      String why = held != null ? held : view.blockedReason();
      return wait(ErrorCode.ROLLOUT_PAUSED, "the rollout of " + request.app() + " " + request.version()
          + " has not started" + (why == null ? "" : ": " + why), view, null, why == null ? retryAfterSeconds : 10);
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
        return wait(ErrorCode.ROLLOUT_PAUSED, view.pausedBy() == null ? "the rollout is paused by an operator"
            : "the rollout is paused by release set " + view.pausedBy().name() + " " + view.pausedBy().version(),
            view, wave, 10);
      }
      SetWait contract = sets.check(request.app(), request.version());
      if (contract != null) {
        return wait(contract.code(), contract.message(), view, wave, contract.retryAfterSeconds());
      }
      int open = view.status() == RolloutView.Status.COMPLETE ? schedule.size() : view.openWaves();
      if (wave >= open) {
        return wait(ErrorCode.WAVE_NOT_OPEN, "waiting for " + waveName(wave, schedule), view, wave,
            untilOpen(view, rollout.plan(), wave, now));
      }
      if (wave >= gate.signedOpen()) {
        // Decided, not yet signed: a grant now would name a wave the node's copy of the state does not open.
        return wait(ErrorCode.WAVE_NOT_OPEN, "waiting for " + waveName(wave, schedule) + " (it opens now)", view,
            wave, 1);
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
    String rolloutKey = LiveRollouts.key(request.app(), request.version());
    Set<String> reserved = reservations.computeIfAbsent(rolloutKey, k -> new HashSet<>());
    for (int attempt = 0; attempt < 5; attempt++) {
      Leases.Slot slot;
      String reservation;
      // Requests of this process pick their slots one at a time, each a different one, and then sign
      // and create at once: a herd of nodes at a wave's opening does not race for the same file.
      synchronized (reserved) {
        List<Holding> mine = scan(rollout, schedule, kind, now);
        List<Holding> other = scan(rollout, schedule, other(kind), now);
        for (Holding h : mine) {
          if (h.active() && h.slot().grant().node().equals(request.node())) {
            return new Answer(200, granted(h.slot().grant(), h.slot().envelope(), view, schedule, wave));
          }
        }
        Set<String> holders = new HashSet<>();
        int held = 0;
        int reservedFree = reserved.size();
        for (Holding h : concat(mine, other)) {
          if (h.active()) {
            held++;
            holders.add(h.slot().grant().node());
            if (reserved.contains(reservation(h.slot().grant().kind(), h.slot().slot()))) {
              reservedFree--; // created already, not yet unreserved: counted once
            }
          }
        }
        int down = down(rollout, holders, request.node(), now);
        int busy = held + reservedFree + down;
        Holding free = mine.stream().filter(h -> !h.active() && !reserved.contains(reservation(kind, h.slot().slot())))
            .findFirst().orElse(null);
        if (busy >= schedule.budget() || free == null) {
          return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.SCOPE_FULL.name(),
              "waiting for a slot: " + busy + " of " + schedule.budget() + " busy"
                  + (down > 0 ? " (" + down + " nodes down or unhealthy count against the budget)" : ""),
              wave, schedule.size(), view.openWaves(), busy, schedule.budget(), retryAfterSeconds, null));
        }
        slot = free.slot();
        reservation = reservation(kind, slot.slot());
        reserved.add(reservation);
      }
      if (!grantWrites.tryAcquire()) {
        synchronized (reserved) {
          reserved.remove(reservation);
        }
        busy.increment();
        return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.SCOPE_FULL.name(),
            "waiting for a slot: the server is writing " + MAX_GRANT_WRITES + " grants at once", wave,
            schedule.size(), view.openWaves(), null, schedule.budget(), 1L, null));
      }
      try {
        if (slot.given()) {
          // A takeover of an expired lease: the table may miss a confirmation made through another process.
          slot = leases.read(request.app(), request.version(), kind, slot.slot());
          if (holding(slot, now).active()) {
            continue;
          }
        }
        Instant issued = now.truncatedTo(ChronoUnit.SECONDS);
        LeaseGrant grant = LeaseGrant.of(request.app(), request.version(), request.node(), kind, wave,
            slot.slot(), slot.generation() + 1, issued, issued.plus(CONFIRM_WINDOW));
        byte[] envelope = key.sign(DocumentType.LEASE, grant);
        if (leases.create(grant, envelope)) {
          granted.increment();
          if (slot.given()) {
            expired.increment(); // taken over from a holder whose lease ran out
          }
          return new Answer(200, granted(grant, envelope, view, schedule, wave));
        }
        // Another process took that generation: look again.
      } finally {
        grantWrites.release();
        synchronized (reserved) {
          reserved.remove(reservation);
        }
      }
    }
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.SCOPE_FULL.name(),
        "waiting for a slot: others took the free ones", wave, schedule.size(), view.openWaves(), null,
        schedule.budget(), retryAfterSeconds, null));
  }

  /**
   * When a node of {@code wave}, which is not open, should ask again: when the wave can open at the
   * earliest. The current wave, when done, opens the next after the bake time left (a second when it
   * is over: the controller opens the next wave at once); when not done, no sooner than a bake time
   * from now; each wave between adds a bake time. Without a bake time, or when the next wave waits
   * for an operator's approval, the usual interval.
   */
  long untilOpen(RolloutView view, RolloutPlan plan, int wave, Instant now) {
    int open = view.openWaves();
    long bake = plan.bakeSecondsOrDefault();
    if (open == 0) {
      return retryAfterSeconds;
    }
    int between = wave - open;
    Duration earliest;
    if (view.waveDoneAt(open - 1) != null) {
      earliest = Controller.bakeLeft(view, plan, now).plusSeconds(between * bake);
      if (earliest.isZero()) {
        return plan.manualApproval() ? retryAfterSeconds : 1;
      }
    } else if (bake == 0) {
      return retryAfterSeconds;
    } else {
      earliest = Duration.ofSeconds((between + 1) * bake);
    }
    long seconds = (earliest.plus(OPENING_MARGIN).toMillis() + 999) / 1000;
    return Math.max(1, Math.min(MAX_RETRY_SECONDS, seconds));
  }

  /** {@code POST /v1/leases/confirm}: just before STOP. */
  public Answer confirm(Caller.Node caller, LeaseRequest request) throws IOException {
    requireSelf(caller, request);
    acquireHeldWrite("confirmations");
    try {
      return confirmHeld(caller, request);
    } finally {
      heldWrites.release();
    }
  }

  private Answer confirmHeld(Caller.Node caller, LeaseRequest request) throws IOException {
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
    leases.confirm(slot, now);
    return new Answer(200, new LeaseAnswer(LeaseAnswer.Status.CONFIRMED, null, "slot " + request.slot()
        + " confirmed: hold it until the update is verified, keep sending heartbeats", slot.grant().wave(), null,
        null, null, null, null, null));
  }

  /** Whether this process's slot tables show no slot of the rollout held now. */
  private boolean noneHeld(String app, String version) throws IOException {
    Optional<LiveRollouts.Rollout> rollout = rollouts.get(app, version);
    if (rollout.isEmpty()) {
      return true;
    }
    RolloutView view = gate(rollout.get(), clock.instant()).view();
    if (view.schedule() == null) {
      return true;
    }
    Instant now = clock.instant();
    for (LeaseGrant.Kind kind : LeaseGrant.Kind.values()) {
      for (Holding h : scan(rollout.get(), view.schedule(), kind, now)) {
        if (h.active()) {
          return false;
        }
      }
    }
    return true;
  }

  /** {@code POST /v1/leases/release}: after COMMITTED or ROLLED_BACK (also from a restarted updater). */
  public Answer release(Caller.Node caller, LeaseRequest request) throws IOException {
    requireSelf(caller, request);
    acquireHeldWrite("returns");
    try {
      return releaseHeld(caller, request);
    } finally {
      heldWrites.release();
    }
  }

  /**
   * A permit for a confirmation or return, or RATE_LIMITED at once (answered 429, Retry-After 1).
   *
   * @throws UpgradeException RATE_LIMITED when {@link #MAX_HELD_WRITES} are in flight
   */
  private void acquireHeldWrite(String what) {
    if (!heldWrites.tryAcquire()) {
      busy.increment();
      throw new UpgradeException(ErrorCode.RATE_LIMITED, "repo-server is handling " + MAX_HELD_WRITES + " slot "
          + what + " at once; ask again in a second");
    }
  }

  private Answer releaseHeld(Caller.Node caller, LeaseRequest request) throws IOException {
    Leases.Slot slot = held(caller, request, "release");
    if (slot.generation() != request.generation() || slot.grant() == null) {
      return lost(request, "slot " + request.slot() + " went to another holder (generation " + slot.generation()
          + ")");
    }
    leases.release(slot, clock.instant(), request.outcome());
    if (noneHeld(request.app(), request.version())) {
      onRelease.run(); // the last slot of this process came back: a wave may be done
    }
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

  /** The slots of one kind of a rollout, each with whether it is held now (from the slot table). */
  List<Holding> scan(LiveRollouts.Rollout rollout, Schedule schedule, LeaseGrant.Kind kind, Instant now)
      throws IOException {
    List<Holding> out = new ArrayList<>(schedule.budget());
    for (Leases.Slot slot : leases.slots(rollout.app(), rollout.version(), kind, schedule.budget())) {
      out.add(holding(slot, now));
    }
    return out;
  }

  private Holding holding(Leases.Slot slot, Instant now) {
    if (!slot.given()) {
      return new Holding(slot, false, false);
    }
    if (slot.confirmedAt() == null) {
      return new Holding(slot, now.isBefore(slot.grant().expires()), false);
    }
    boolean silent = silent(slot.grant(), slot.confirmedAt(), now);
    return new Holding(slot, !silent, silent);
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

  /**
   * Nodes of the rollout's fleet that are down or unhealthy without a slot (they use up the budget
   * too). The fleet is scanned for suspects at most every {@link Leases#FRESH_FOR}; each suspect is
   * looked up again, so a node that came back counts no more at once.
   */
  private int down(LiveRollouts.Rollout rollout, Set<String> holders, String asking, Instant now) {
    String key = LiveRollouts.key(rollout.app(), rollout.version());
    Suspects known = suspects.get(key);
    if (known == null || !fresh(known.at(), now)) {
      List<String> nodes = new ArrayList<>();
      for (String channel : rollout.channels()) {
        for (Inventory.Entry e : inventory.nodes(rollout.app(), channel)) {
          if (!e.healthy(now)) {
            nodes.add(e.heartbeat().node());
          }
        }
      }
      known = new Suspects(List.copyOf(nodes), now);
      suspects.put(key, known);
    }
    int down = 0;
    for (String node : known.nodes()) {
      if (!node.equals(asking) && !holders.contains(node)) {
        Inventory.Entry e = inventory.get(node, rollout.app());
        if (e != null && !e.healthy(now)) {
          down++;
        }
      }
    }
    return down;
  }

  /** The rollout's decisions and signed open waves, read again when older than {@link Leases#FRESH_FOR}. */
  /** The rollout's view as slot requests see it (read again after {@link Leases#FRESH_FOR} or a change). */
  Gate gate(LiveRollouts.Rollout rollout, Instant now) throws IOException {
    String key = LiveRollouts.key(rollout.app(), rollout.version());
    Gate known = gates.get(key);
    if (known != null && fresh(known.at(), now)) {
      return known;
    }
    Gate gate = new Gate(decisions.view(rollout.app(), rollout.version()), signedOpen(rollout), now);
    gates.put(key, gate);
    return gate;
  }

  /** The waves the stored signed state opens (this server's own documents: parsed, not verified). */
  private int signedOpen(LiveRollouts.Rollout rollout) throws IOException {
    Optional<RepositoryStore.Versioned> stored = store.read(RepositoryLayout.rolloutState(rollout.app(),
        rollout.version()), DocumentType.ROLLOUT.maxBytes());
    if (stored.isEmpty()) {
      return 0;
    }
    try {
      RolloutState state = Json.read(Envelopes.parse(stored.get().bytes(), DocumentType.ROLLOUT).payloadBytes(),
          RolloutState.class, "rollout state");
      return state.action() == RolloutState.Action.PROCEED && state.openWaves() != null ? state.openWaves() : 0;
    } catch (RuntimeException e) {
      return 0; // damaged: the controller replaces it with its next signature
    }
  }

  /**
   * Whether something read at {@code at} is still fresh at {@code now}. A request's {@code now} may
   * be a little older than {@code at} (taken before it waited for the lock behind the request that
   * read it): that is fresh too, or a burst of requests would each read everything again.
   */
  private static boolean fresh(Instant at, Instant now) {
    return now.isBefore(at.plus(Leases.FRESH_FOR)) && now.isAfter(at.minus(Leases.FRESH_FOR));
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

  private static String reservation(LeaseGrant.Kind kind, int slot) {
    return kind.name() + " " + slot;
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
