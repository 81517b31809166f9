package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.SetController;
import io.upgradekit.server.rollout.SetView;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The release sets' part of the rollout controller (DESIGN 7b; docs/release-sets.md): which
 * release belongs to which set, the sets' own decisions and their parts on the components, the
 * signed set states, and the checks a slot request of a set's component passes (the set's order,
 * its contracts against the fleet).
 *
 * <p><b>Which release belongs to a set.</b> A release whose signed plan names a set ({@code
 * RolloutPlan.set}, written by {@code upgrade:release} for a set) belongs to the newest published
 * set of that name that lists it, and until one does it is <em>held</em>: its rollout does not
 * start, however long the set takes to be published. A release without that mark belongs to the
 * newest set that lists it, from the moment the set is published (before, it rolls out by itself).
 * Among several sets that list a release, one that has not ended wins, then the highest sequence.
 * A release that belongs to a set starts only when the set lets it ({@code start-components}).
 *
 * <p>A set runs while one of its components' releases is live (a channel names it with a plan).
 *
 * <p>{@link #advance} and {@link #publish} run on the controller's timer thread only; {@link
 * #refresh} replaces what it found as a whole and, like {@link #hold}, {@link #check} and the
 * readers, is safe from any thread (the operators' views refresh too).
 */
public final class SetRuns implements LeaseService.SetGate {
  /** Steps taken for one set in one pass at most. */
  static final int MAX_STEPS_PER_PASS = 16;

  /** A set with its decisions' fold. */
  public record Owner(ReleaseSet set, SetView view) {}

  /**
   * Why a release's rollout waits for its set.
   *
   * @param owner the set, or null when the release names a set that is not published yet
   * @param mayStart whether the set lets the rollout start now
   * @param reason one sentence
   */
  public record Hold(Owner owner, boolean mayStart, String reason) {}

  private record Counted(SetState.AppFleet fleet, Instant at) {}

  private final LiveSets sets;
  private final SetDecisions setDecisions;
  private final Decisions decisions;
  private final Inventory inventory;
  private final SetStates states;
  private final LeaseService leases;
  private final Clock clock;
  private final Consumer<String> log;
  private final LongAdder taken = new LongAdder();
  private final ConcurrentHashMap<String, Counted> fleets = new ConcurrentHashMap<>();
  /** Where each running set's components are, for the held ones' sentences; dropped at every refresh and step. */
  private final ConcurrentHashMap<String, Map<String, SetState.Component>> where = new ConcurrentHashMap<>();
  private volatile List<ReleaseSet> running = List.of();
  private volatile Map<String, ReleaseSet> owners = Map.of();
  private volatile Map<String, String> marks = Map.of();

  /** @param states the signed set states, or null when this server holds no rollout key */
  public SetRuns(LiveSets sets, SetDecisions setDecisions, Decisions decisions, Inventory inventory, SetStates states,
      LeaseService leases, Clock clock, Consumer<String> log) {
    this.sets = sets;
    this.setDecisions = setDecisions;
    this.decisions = decisions;
    this.inventory = inventory;
    this.states = states;
    this.leases = leases;
    this.clock = clock;
    this.log = log;
  }

  /** Decisions this process stored for sets and for their components' parts. */
  public long decisionsTaken() {
    return taken.sum();
  }

  /** The sets that run (one of their components is live), as last refreshed. */
  public List<ReleaseSet> running() {
    return running;
  }

  /** The set decisions. */
  public SetDecisions decisions() {
    return setDecisions;
  }

  /** Reads the published sets again and which live release belongs to which. */
  public void refresh(List<LiveRollouts.Rollout> live) throws IOException {
    List<ReleaseSet> all = sets.refresh();
    Map<String, String> marked = new HashMap<>();
    for (LiveRollouts.Rollout r : live) {
      marked.put(LiveRollouts.key(r.app(), r.version()), r.plan().set() == null ? "" : r.plan().set());
    }
    List<ReleaseSet> runs = new ArrayList<>();
    Map<String, List<ReleaseSet>> listing = new HashMap<>();
    for (ReleaseSet set : all) {
      boolean isLive = false;
      for (ReleaseSet.Component c : set.components()) {
        String key = LiveRollouts.key(c.app(), c.version());
        String mark = marked.get(key);
        if (mark != null) {
          isLive = true;
          if (mark.isEmpty() || mark.equals(set.name())) {
            listing.computeIfAbsent(key, k -> new ArrayList<>()).add(set);
          }
        }
      }
      if (isLive) {
        runs.add(set);
      }
    }
    Map<String, ReleaseSet> owned = new HashMap<>();
    for (Map.Entry<String, List<ReleaseSet>> e : listing.entrySet()) {
      List<ReleaseSet> candidates = new ArrayList<>(e.getValue());
      Map<ReleaseSet, Boolean> ended = new HashMap<>();
      for (ReleaseSet s : candidates) {
        ended.put(s, setDecisions.view(s.name(), s.version()).ended());
      }
      candidates.sort(Comparator.<ReleaseSet, Boolean>comparing(ended::get)
          .thenComparing(Comparator.comparingLong(ReleaseSet::sequence).reversed())
          .thenComparing(ReleaseSet::version, Comparator.reverseOrder()));
      owned.put(e.getKey(), candidates.get(0));
    }
    Map<String, String> named = new HashMap<>();
    marked.forEach((k, v) -> {
      if (!v.isEmpty()) {
        named.put(k, v);
      }
    });
    running = List.copyOf(runs);
    owners = Map.copyOf(owned);
    marks = Map.copyOf(named);
    where.clear();
  }

  /** The set {@code app} {@code version} belongs to, with its decisions now, or null. */
  public Owner owner(String app, String version) throws IOException {
    ReleaseSet set = owners.get(LiveRollouts.key(app, version));
    return set == null ? null : new Owner(set, setDecisions.view(set.name(), set.version()));
  }

  /** Why the rollout waits for its set, or null when it belongs to none and names none. */
  public Hold hold(LiveRollouts.Rollout rollout) throws IOException {
    Owner owner = owner(rollout.app(), rollout.version());
    if (owner == null) {
      String mark = marks.get(LiveRollouts.key(rollout.app(), rollout.version()));
      return mark == null ? null : new Hold(null, false, "held for release set " + mark + ": no published set "
          + mark + " lists " + rollout.app() + " " + rollout.version() + " yet (its plan names the set, so it does not"
          + " start by itself)");
    }
    SetView view = owner.view();
    String app = rollout.app();
    if (view.mayStart(app)) {
      return new Hold(owner, true, "release set " + owner.set().name() + " " + owner.set().version()
          + " lets it start");
    }
    String set = "release set " + owner.set().name() + " " + owner.set().version();
    String why = switch (view.status()) {
      case NOT_STARTED -> set + " has not started";
      case RUNNING -> {
        if (view.paused()) {
          yield set + " is paused";
        }
        SetState.Component c = components(owner).get(app);
        yield c.waitingFor().isEmpty() ? set + " starts it at its next pass"
            : set + " starts it after " + String.join(", ", c.waitingFor());
      }
      case HALTED -> set + " is halted";
      case RECALLING, RECALLED -> set + " is recalled";
      case COMPLETE -> set + " is complete";
    };
    return new Hold(owner, false, "held: " + why);
  }

  /**
   * Where the set's components are; computed once per set until the next refresh or step (a set of
   * 256 held components would otherwise read every component's decisions for each of them).
   */
  private Map<String, SetState.Component> components(Owner owner) throws IOException {
    String key = owner.set().name() + " " + owner.set().version();
    Map<String, SetState.Component> known = where.get(key);
    if (known == null) {
      known = SetController.components(owner.set(), owner.view(), componentViews(owner.set()));
      where.put(key, known);
    }
    return known;
  }

  /** One pass over the running sets: each set's next decisions and its components' parts, until none is due. */
  public void advance() {
    for (ReleaseSet set : running) {
      try {
        advance(set);
      } catch (IOException | RuntimeException e) {
        log.accept("release set " + set.name() + " " + set.version() + " did not advance: " + e.getMessage());
      }
    }
  }

  private void advance(ReleaseSet set) throws IOException {
    for (int i = 0; i < MAX_STEPS_PER_PASS; i++) {
      SetView view = setDecisions.view(set.name(), set.version());
      Map<String, RolloutView> components = componentViews(set);
      Optional<SetController.Step> next = SetController.decide(set, view, components);
      if (next.isEmpty()) {
        return;
      }
      Instant at = clock.instant().truncatedTo(ChronoUnit.MILLIS);
      if (next.get() instanceof SetController.SetStep step) {
        SetDecision d = SetDecision.of(set.name(), set.version(), view.lastSequence() + 1, at,
            RolloutDecision.CONTROLLER, step.kind(), step.reason(), step.apps());
        where.clear();
        if (setDecisions.append(d).isPresent()) {
          taken.increment();
          log.accept("release set " + set.name() + " " + set.version() + ": " + d.kindName() + " (" + d.reason() + ")");
        }
      } else if (next.get() instanceof SetController.ComponentStep step) {
        RolloutView c = components.get(step.app());
        String version = set.component(step.app()).version();
        RolloutDecision d = RolloutDecision.of(step.app(), version, c.lastSequence() + 1, at, step.actor(),
            step.kind(), step.reason(), new RolloutDecision.SetRef(set.name(), set.version(), step.setDecision()));
        where.clear();
        if (decisions.append(d).isPresent()) {
          taken.increment();
          leases.changed(step.app(), version);
          log.accept(step.app() + " " + version + ": " + step.kind() + " (" + step.reason() + ")");
        }
      }
      // stored, or another process stored that sequence first: read again and decide again
    }
  }

  /** Signs the state of every running set that has started. */
  public void publish() {
    if (states == null) {
      return;
    }
    for (ReleaseSet set : running) {
      try {
        Optional<SetState> state = state(set);
        if (state.isPresent()) {
          states.publish(state.get(), clock.instant());
        }
      } catch (IOException | RuntimeException e) {
        log.accept("the state of release set " + set.name() + " " + set.version() + " was not signed: "
            + e.getMessage());
      }
    }
  }

  /** The set's state as it would be signed now (sequence and expiry placeholders), or empty before its start. */
  Optional<SetState> state(ReleaseSet set) throws IOException {
    SetView view = setDecisions.view(set.name(), set.version());
    SetState.Status status = switch (view.status()) {
      case NOT_STARTED -> null;
      case RUNNING -> SetState.Status.RUNNING;
      case HALTED -> SetState.Status.HALTED;
      case RECALLING -> SetState.Status.RECALLING;
      case RECALLED -> SetState.Status.RECALLED;
      case COMPLETE -> SetState.Status.COMPLETE;
    };
    if (status == null) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    Set<String> required = new LinkedHashSet<>();
    set.contracts().forEach(c -> required.add(c.requires()));
    List<SetState.AppFleet> fleet = new ArrayList<>();
    for (String app : required) {
      fleet.add(fleetOf(app, now));
    }
    return Optional.of(new SetState("set-state", set.name(), set.version(), 1, now, status, view.paused(),
        List.copyOf(SetController.components(set, view, componentViews(set)).values()), fleet,
        view.lastSequence() == 0 ? null : view.lastSequence()));
  }

  /** Each component's rollout now (one without decisions: not started). */
  Map<String, RolloutView> componentViews(ReleaseSet set) throws IOException {
    Map<String, RolloutView> out = new LinkedHashMap<>();
    for (ReleaseSet.Component c : set.components()) {
      out.put(c.app(), decisions.view(c.app(), c.version()));
    }
    return out;
  }

  /**
   * Heartbeat states of a node between two versions: the one it reports may be stopped, not yet
   * verified, or about to be rolled back, so it serves no contract until the node is settled.
   */
  private static final Set<String> BETWEEN_VERSIONS = Set.of("STOP", "SWITCH", "START", "VERIFY", "ROLLBACK");

  /**
   * The available nodes of {@code app} on any channel and the versions they run (the 64 most common;
   * the rest count as another version, and so does a node {@linkplain #BETWEEN_VERSIONS between two
   * versions}). Counted at most once per {@link Leases#FRESH_FOR}: slot requests of a whole wave ask
   * at once.
   */
  public SetState.AppFleet fleetOf(String app, Instant now) {
    Counted known = fleets.get(app);
    if (known != null && now.isBefore(known.at().plus(Leases.FRESH_FOR)) && !now.isBefore(known.at())) {
      return known.fleet();
    }
    int nodes = 0;
    Map<String, Integer> versions = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (Inventory.Entry e : inventory.nodes(app)) {
      if (e.available(now) && seen.add(e.heartbeat().node())) {
        nodes++;
        if (e.heartbeat().version() != null && !BETWEEN_VERSIONS.contains(e.heartbeat().state())) {
          versions.merge(e.heartbeat().version(), 1, Integer::sum);
        }
      }
    }
    Map<String, Integer> top = new HashMap<>();
    versions.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
        .limit(SetState.MAX_VERSIONS).forEach(e -> top.put(e.getKey(), e.getValue()));
    SetState.AppFleet fleet = new SetState.AppFleet(app, nodes, top);
    fleets.put(app, new Counted(fleet, now));
    return fleet;
  }

  /**
   * The first contract of its set that binds the release and that the fleet does not meet now, as
   * the wait a slot request gets, or null.
   */
  @Override
  public LeaseService.SetWait check(String app, String version) {
    ReleaseSet set = owners.get(LiveRollouts.key(app, version));
    if (set == null) {
      return null;
    }
    Instant now = clock.instant();
    for (ReleaseSet.Contract contract : set.contracts()) {
      if (contract.app().equals(app) && contract.binds(version)) {
        String unmet = fleetOf(contract.requires(), now).unmet(contract);
        if (unmet != null) {
          return new LeaseService.SetWait(ErrorCode.CONTRACT_UNMET, unmet + " (the contract '" + contract
              + "' of release set " + set.name() + " " + set.version() + ")", 10);
        }
      }
    }
    return null;
  }

  /** The sentence for a rollout that has not started because its set holds it, or null. */
  @Override
  public String held(LiveRollouts.Rollout rollout) throws IOException {
    Hold hold = hold(rollout);
    return hold == null || hold.mayStart() ? null : hold.reason();
  }
}
