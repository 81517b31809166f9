package io.upgradekit.updater.testsupport;

import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ApiError;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.HeartbeatResult;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * repo-server's rollout side, as far as one node sees it (docs/rollouts.md, "On the node"): signs
 * real rollout states and lease grants with the repository's rollout key, answers {@code
 * /v1/leases}, {@code /v1/leases/confirm}, {@code /v1/leases/release} and {@code /v1/heartbeats}
 * on a {@link RepoSimulator}, and logs every call in order ({@link #calls}). Waves and slots are
 * the test's: it places nodes in waves and sets the budget; the rules are the design's (wave
 * open, a free slot, one holder per slot generation, a call naming an old generation is lost).
 */
public final class FakeRolloutServer {
  /** One slot's holder. */
  public record Holder(String node, String version, LeaseGrant.Kind kind, long generation, boolean confirmed) {}

  private final TestRepo repo;
  private final String version;
  private long sequence;
  private RolloutState.Action action = RolloutState.Action.PAUSE;
  private int openWaves;
  private int waves = 1;
  private String recallTo;
  private Integer recallFrom;
  private final Map<String, Integer> retries = new HashMap<>();
  private String setName;
  private String setVersion;
  private boolean held;
  private long setSequence;
  private final Map<String, Integer> waveOf = new HashMap<>();
  private final Map<Integer, Holder> slots = new HashMap<>();
  private final Map<Integer, Long> generations = new HashMap<>();
  /** Slots used up by nodes outside the test (unavailable nodes count against the budget too). */
  public volatile int busyElsewhere;
  public volatile int budget = 1;
  /** The next confirmation finds the slot given to another holder (generation + 1). */
  public volatile boolean loseNextConfirm;
  /** The next confirmation is answered 503, as by a server going down after the grant. */
  public volatile boolean failNextConfirm;
  /** Turns each grant before it is signed (a grant for another node, another wave). */
  public volatile Function<LeaseGrant, LeaseGrant> grantTweak = Function.identity();
  /** Signs grants with this key instead of the rollout key (a forgery). */
  public volatile SigningKey grantKey;
  public volatile long retryAfterSeconds = 7;
  /** Runs when a slot request arrives, before it is answered (the server moving on meanwhile). */
  public volatile Runnable onAsk = () -> { };
  /** Every call, in order: "ask upgrade", "confirm 0/1", "release 0/1 COMMITTED", "heartbeat GATE". */
  public final List<String> calls = Collections.synchronizedList(new ArrayList<>());
  public final List<Heartbeat> heartbeats = Collections.synchronizedList(new ArrayList<>());
  /** Returns with their outcome: "slot/generation OUTCOME". */
  public final List<String> released = Collections.synchronizedList(new ArrayList<>());

  public FakeRolloutServer(TestRepo repo, RepoSimulator server, String version) {
    this.repo = repo;
    this.version = version;
    server.api("v1/leases", this::ask);
    server.api("v1/leases/confirm", this::confirm);
    server.api("v1/leases/release", this::release);
    server.api("v1/heartbeats", this::heartbeat);
  }

  // ------------------------------------------------------------------ the signed state

  /** Nodes of wave {@code wave} (from 0); {@code total} waves. */
  public synchronized FakeRolloutServer wave(String node, int wave, int total) {
    waveOf.put(node, wave);
    waves = total;
    return this;
  }

  public synchronized void proceed(int open) {
    action = RolloutState.Action.PROCEED;
    openWaves = open;
    publish(Duration.ofMinutes(2));
  }

  /** Opens {@code open} waves for slot requests without signing a state that says so (the server's decision ahead of its state). */
  public synchronized void openWithoutPublishing(int open) {
    action = RolloutState.Action.PROCEED;
    openWaves = open;
  }

  public synchronized void pause() {
    action = RolloutState.Action.PAUSE;
    publish(Duration.ofMinutes(2));
  }

  public synchronized void halt() {
    action = RolloutState.Action.HALT;
    publish(Duration.ofMinutes(2));
  }

  public synchronized void recall(String to, int fromWave) {
    action = RolloutState.Action.RECALL;
    recallTo = to;
    recallFrom = fromWave;
    publish(Duration.ofMinutes(2));
  }

  public synchronized void retry(String node) {
    retries.merge(node, 1, Integer::sum);
    publish(Duration.ofMinutes(2));
  }

  /** The release is rolled out by release set {@code name} {@code version}: its states name the set. */
  public synchronized FakeRolloutServer inSet(String name, String version) {
    setName = name;
    setVersion = version;
    return this;
  }

  /** A release its set has not let start: a pause naming the set, without a decision. */
  public synchronized void heldBySet() {
    action = RolloutState.Action.PAUSE;
    held = true;
    publish(Duration.ofMinutes(2));
    held = false;
  }

  /** Publishes the release set, signed with the release key. */
  public void publishSet(ReleaseSet set) {
    repo.put(RepositoryLayout.releaseSet(set.name(), set.version()), Envelopes.sign(DocumentType.RELEASE_SET, set,
        List.of(repo.releaseKey())));
  }

  /** The set's state with the next sequence, valid for {@code ttl}, not published. */
  public synchronized SetState setState(SetState.Status status, boolean paused, List<SetState.Component> components,
      List<SetState.AppFleet> fleet, Duration ttl) {
    return new SetState("set-state", setName, setVersion, ++setSequence, Instant.now().plus(ttl), status, paused,
        components, fleet, setSequence);
  }

  /** Publishes a set state signed with {@code key}. */
  public void publishSetState(SetState state, SigningKey key) {
    repo.put(RepositoryLayout.setState(state.name(), state.version()), Envelopes.sign(DocumentType.SET_STATE, state,
        List.of(key)));
  }

  /** Publishes the state as it is with a new sequence, valid for {@code ttl} (negative: already expired). */
  public synchronized void publish(Duration ttl) {
    repo.put(RepositoryLayout.rolloutState("demo", version), Envelopes.sign(DocumentType.ROLLOUT, current(ttl),
        List.of(repo.rolloutKey())));
  }

  /** The state as it is with a new sequence, not published. */
  public synchronized RolloutState current(Duration ttl) {
    return new RolloutState(DocumentType.ROLLOUT.typeName(), "demo", version, ++sequence, Instant.now().plus(ttl),
        action, action == RolloutState.Action.PROCEED ? openWaves : null, recallTo, waves, recallFrom,
        retries.isEmpty() ? null : Map.copyOf(retries), held ? null : sequence, setName, setVersion);
  }

  /** Another holder returns its slot. */
  public synchronized void free(int slot) {
    slots.remove(slot);
  }

  public synchronized Map<Integer, Holder> slots() {
    return Map.copyOf(slots);
  }

  // ------------------------------------------------------------------ the API

  private synchronized RepoSimulator.ApiReply ask(RepoSimulator.Request request) {
    LeaseRequest r = ApiBody.LEASE_REQUEST.read(request.body());
    calls.add("ask " + name(r.kind()));
    onAsk.run();
    int wave = waveOf.getOrDefault(r.node(), 0);
    boolean recall = r.kind() == LeaseGrant.Kind.RECALL;
    if (recall ? action != RolloutState.Action.RECALL : action != RolloutState.Action.PROCEED) {
      return answer(wait(action == RolloutState.Action.PAUSE ? "ROLLOUT_PAUSED" : "ROLLOUT_HALTED", null, wave));
    }
    if (!recall && wave >= openWaves) {
      return answer(wait("WAVE_NOT_OPEN", null, wave));
    }
    if (recall && recallFrom != null && wave < recallFrom) {
      return answer(wait("WAVE_NOT_OPEN", "the recall has not reached wave " + (wave + 1), wave));
    }
    for (Map.Entry<Integer, Holder> held : slots.entrySet()) {
      Holder h = held.getValue();
      if (h.node().equals(r.node()) && h.kind() == r.kind() && !h.confirmed()) {
        // As repo-server does: a node that asks again while its grant waits for confirmation gets it again.
        return answer(granted(r, wave, held.getKey(), h.generation(), recall));
      }
    }
    int busy = slots.size() + busyElsewhere;
    if (busy >= budget) {
      return answer(wait("SCOPE_FULL", null, wave));
    }
    int slot = 0;
    while (slots.containsKey(slot)) {
      slot++;
    }
    long generation = generations.merge(slot, 1L, Long::sum);
    slots.put(slot, new Holder(r.node(), r.version(), r.kind(), generation, false));
    return answer(granted(r, wave, slot, generation, recall));
  }

  private LeaseAnswer granted(LeaseRequest r, int wave, int slot, long generation, boolean recall) {
    LeaseGrant grant = grantTweak.apply(LeaseGrant.of("demo", r.version(), r.node(), r.kind(), wave, slot, generation,
        Instant.now(), Instant.now().plusSeconds(60)));
    SigningKey key = grantKey == null ? repo.rolloutKey() : grantKey;
    String envelope = new String(Envelopes.sign(DocumentType.LEASE, grant, List.of(key)), StandardCharsets.UTF_8);
    calls.add("grant " + slot + "/" + generation);
    return new LeaseAnswer(LeaseAnswer.Status.GRANTED, null, recall ? "the canary's error rate tripled" : null,
        wave, waves, openWaves, slots.size(), budget, null, envelope);
  }

  private synchronized RepoSimulator.ApiReply confirm(RepoSimulator.Request request) {
    LeaseRequest r = ApiBody.LEASE_REQUEST.read(request.body());
    calls.add("confirm " + r.slot() + "/" + r.generation());
    if (failNextConfirm) {
      failNextConfirm = false;
      return RepoSimulator.ApiReply.json(503, "{\"code\":\"IO_ERROR\",\"message\":\"going down\"}"
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    Holder h = slots.get(r.slot());
    if (loseNextConfirm && h != null) {
      loseNextConfirm = false;
      long next = generations.merge(r.slot(), 1L, Long::sum); // expired, and given to someone else
      slots.put(r.slot(), new Holder("other-node", h.version(), h.kind(), next, true));
      h = slots.get(r.slot());
    }
    if (h == null || h.generation() != r.generation() || !h.node().equals(r.node())) {
      return lost();
    }
    slots.put(r.slot(), new Holder(h.node(), h.version(), h.kind(), h.generation(), true));
    return answer(new LeaseAnswer(LeaseAnswer.Status.CONFIRMED, null, null, null, null, null, null, null, null, null));
  }

  private synchronized RepoSimulator.ApiReply release(RepoSimulator.Request request) {
    LeaseRequest r = ApiBody.LEASE_REQUEST.read(request.body());
    calls.add("release " + r.slot() + "/" + r.generation() + " " + r.outcome());
    Holder h = slots.get(r.slot());
    if (h == null || h.generation() != r.generation() || !h.node().equals(r.node())) {
      return lost();
    }
    slots.remove(r.slot());
    released.add(r.slot() + "/" + r.generation() + " " + r.outcome());
    return answer(new LeaseAnswer(LeaseAnswer.Status.RELEASED, null, null, null, null, null, null, null, null, null));
  }

  private RepoSimulator.ApiReply heartbeat(RepoSimulator.Request request) {
    Heartbeat h = ApiBody.HEARTBEAT.read(request.body());
    if (!h.node().equals(authenticatedNode(request))) {
      return RepoSimulator.ApiReply.json(403, ApiBody.ERROR.write(new ApiError("ACCESS_DENIED", "a node speaks for "
          + "itself only")));
    }
    heartbeats.add(h);
    calls.add("heartbeat " + h.state());
    return RepoSimulator.ApiReply.json(200, ApiBody.HEARTBEAT_RESULT.write(new HeartbeatResult(true, Instant.now())));
  }

  private static String authenticatedNode(RepoSimulator.Request request) {
    String auth = request.header("Authorization");
    if (auth == null || !auth.startsWith("Basic ")) {
      return null;
    }
    String user = new String(java.util.Base64.getDecoder().decode(auth.substring(6)), StandardCharsets.UTF_8);
    return user.substring(0, Math.max(0, user.indexOf(':')));
  }

  private LeaseAnswer wait(String code, String message, int wave) {
    return new LeaseAnswer(LeaseAnswer.Status.WAIT, code, message, wave, waves, openWaves,
        slots.size() + busyElsewhere, budget, retryAfterSeconds, null);
  }

  private static RepoSimulator.ApiReply lost() {
    return RepoSimulator.ApiReply.json(409, ApiBody.ERROR.write(new ApiError("LEASE_LOST", "the slot has a newer "
        + "holder")));
  }

  private static RepoSimulator.ApiReply answer(LeaseAnswer answer) {
    return RepoSimulator.ApiReply.json(200, ApiBody.LEASE_ANSWER.write(answer));
  }

  private static String name(LeaseGrant.Kind kind) {
    return kind.name().toLowerCase(java.util.Locale.ROOT);
  }
}
