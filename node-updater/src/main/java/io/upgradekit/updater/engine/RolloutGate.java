package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * GATE for a release whose signed manifest carries a rollout plan (docs/rollouts.md, "On the
 * node"), and the recall and retry orders of the rollout state. The node obeys only what the
 * rollout role signed:
 *
 * <ol>
 *   <li>the release's rollout state ({@code apps/<app>/rollout/<version>.json}): verified, its
 *       sequence never below the one this node trusted last (kept in {@code state/node.json});
 *       missing, expired or unreachable state is a pause, never a go; {@code halt} and {@code
 *       recall} mean "not installed";
 *   <li>for a release a release set rolls out: the set and its signed state ({@link #setGate}): the
 *       set halted, recalled or paused is a wait, and so is a contract the signed fleet counts do
 *       not meet ({@code CONTRACT_UNMET});
 *   <li>{@code POST /v1/leases} as the node: {@code wait} (with why and when to ask again) or
 *       {@code granted} with a signed {@link LeaseGrant}, verified (rollout role, this node, app,
 *       release, kind, a wave the state opened);
 *   <li>the grant is kept in node state (so that a restarted updater returns it), then {@code POST
 *       /v1/leases/confirm} just before anything live changes: {@code lost} goes back to asking,
 *       nothing changed;
 *   <li>after the event ended ({@link EventRun} writes its outcome into the kept lease), {@link
 *       #releaseHeld()} returns it: {@code POST /v1/leases/release} with the outcome.
 * </ol>
 *
 * Waiting is an answer, not a failure: the caller ends the run as {@link
 * io.upgradekit.updater.event.Outcome#WAITING}.
 */
final class RolloutGate {
  /** Asks per run when repo-server says the slot was lost before the confirmation. */
  static final int ASKS_PER_RUN = 3;

  /**
   * How soon to ask again when a grant names a wave the signed state does not open yet: repo-server
   * stores the decision that opens a wave a moment before it signs the state that says so.
   */
  static final Duration STATE_BEHIND_RETRY = Duration.ofSeconds(1);

  /** What GATE (or a recall) decided. */
  sealed interface Decision permits Go, Wait {}

  /**
   * A confirmed slot: go on.
   *
   * @param reason the server's sentence with the grant (for a recall: why it recalls), or null
   */
  record Go(NodeState.Lease lease, String reason) implements Decision {}

  /**
   * Wait; nothing live changed.
   *
   * @param retryAfter when the server asked to be asked again, or null (the poll interval)
   */
  record Wait(ErrorCode code, String message, Duration retryAfter) implements Decision {}

  /** The verified rollout state, or why there is none to obey (a pause). */
  record Observed(RolloutState state, String pause, Duration retryAfter) {}

  private final Parts parts;
  private final UpdaterConfig config;

  RolloutGate(Parts parts) {
    this.parts = parts;
    this.config = parts.config();
  }

  /**
   * GATE of an upgrade to {@code version}: the state must say {@code proceed}, then a slot is asked,
   * verified, kept and confirmed. {@code beforeConfirm} runs between the grant and the confirmation
   * (the last checks before anything live changes).
   *
   * @throws UpgradeException a refusal (forged, replayed or inconsistent state or grant), CONFIG_INVALID
   *     without a node credential, GATE_CLOSED when the server refuses the node; DOWNLOAD_FAILED
   *     when the confirmation cannot be sent (the kept grant is returned after the event)
   */
  Decision upgrade(EventRun run, String version, String markedSet, MetadataVerifier verifier,
      Runnable beforeConfirm) {
    requireCredential(version);
    Observed observed = state(version, verifier);
    if (observed.state() == null) {
      return new Wait(ErrorCode.ROLLOUT_PAUSED, observed.pause() + ": waiting (a stale or missing rollout state "
          + "is a pause)", observed.retryAfter());
    }
    RolloutState state = observed.state();
    return switch (state.action()) {
      case PAUSE -> {
        if (state.set() == null && markedSet != null && state.decision() == null) {
          yield new Wait(ErrorCode.ROLLOUT_PAUSED, "the plan of " + version + " names release set " + markedSet
              + ": waiting for the set to be published and to start it", null);
        }
        Wait held = state.set() == null || state.decision() != null ? null : heldBySet(version, state, verifier);
        yield held != null ? held : new Wait(ErrorCode.ROLLOUT_PAUSED, "the rollout of " + version + " is paused",
            null);
      }
      case HALT -> new Wait(ErrorCode.ROLLOUT_HALTED, "the rollout of " + version + " is halted: " + version
          + " is not installed here", null);
      case RECALL -> new Wait(ErrorCode.ROLLOUT_HALTED, version + " is recalled: it is not installed here", null);
      case PROCEED -> {
        Wait set = setGate(version, state, markedSet, verifier);
        yield set != null ? set : lease(run, version, LeaseGrant.Kind.UPGRADE, state, verifier, beforeConfirm);
      }
    };
  }

  /**
   * The release set's part of GATE, on signed data only: the release's plan (release role) or its
   * rollout state (rollout role) names the set; the set (release role) lists the release and carries
   * the contracts; the set's state (rollout role, fresh, its sequence never lower than trusted
   * before) says whether the set lets its components proceed and counts the versions of each app a
   * contract requires. A contract that binds this release and that the counted fleet does not meet
   * is a wait with CONTRACT_UNMET; a missing or stale set state is a wait too, never a go.
   *
   * @return why the node waits, or null: go on to the slot
   * @throws UpgradeException a refusal: a forged or replayed set or set state, a set that does not
   *     list the release its rollout state says it rolls out
   */
  Wait setGate(String version, RolloutState state, String markedSet, MetadataVerifier verifier) {
    if (state.set() == null) {
      return markedSet == null ? null : new Wait(ErrorCode.ROLLOUT_PAUSED, "the plan of " + version + " names release"
          + " set " + markedSet + ", but its signed rollout state names no set: waiting for the set to run it", null);
    }
    if (markedSet != null && !markedSet.equals(state.set())) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the plan of " + version + " names release set "
          + markedSet + ", but its signed rollout state names set " + state.set());
    }
    String set = "release set " + state.set() + " " + state.setVersion();
    SetFacts facts = setFacts(version, state, verifier);
    if (facts.pause() != null) {
      return facts.pause();
    }
    SetState setState = facts.state();
    switch (setState.status()) {
      case HALTED -> {
        return new Wait(ErrorCode.ROLLOUT_HALTED, set + " is halted: " + version + " is not installed here", null);
      }
      case RECALLING, RECALLED -> {
        return new Wait(ErrorCode.ROLLOUT_HALTED, set + " is recalled: " + version + " is not installed here", null);
      }
      default -> { }
    }
    if (setState.paused()) {
      return new Wait(ErrorCode.ROLLOUT_PAUSED, set + " is paused", null);
    }
    for (ReleaseSet.Contract contract : facts.set().contracts()) {
      if (!contract.app().equals(config.app()) || !contract.binds(version)) {
        continue;
      }
      SetState.AppFleet fleet = setState.fleetOf(contract.requires());
      String unmet = fleet == null ? "waiting for " + contract.requires() + " " + contract.range() + ": the signed"
          + " state of " + set + " does not count " + contract.requires() + "'s nodes" : fleet.unmet(contract);
      if (unmet != null) {
        return new Wait(ErrorCode.CONTRACT_UNMET, unmet + " (contract '" + contract + "' of " + set + ")",
            CONTRACT_RETRY);
      }
    }
    return null;
  }

  /** How soon to ask again while a contract is not met (the server re-signs the set state as the fleet moves). */
  static final Duration CONTRACT_RETRY = Duration.ofSeconds(10);

  /** The verified set and its verified state, or why the node waits. */
  private record SetFacts(ReleaseSet set, SetState state, Wait pause) {}

  /**
   * The set and its state, verified on every call; the bytes come from {@link SetDocuments} where
   * they can (the set is immutable; the state is asked for with its ETag).
   */
  private SetFacts setFacts(String version, RolloutState state, MetadataVerifier verifier) {
    String set = "release set " + state.set() + " " + state.setVersion();
    SetDocuments kept = parts.setDocuments();
    byte[] setBytes = kept.set(state.set(), state.setVersion());
    if (setBytes == null) {
      RepositoryClient.Fetched fetched;
      try {
        fetched = parts.client().fetch(RepositoryLayout.releaseSet(state.set(), state.setVersion()),
            DocumentType.RELEASE_SET.maxBytes(), null);
      } catch (HttpFailure e) {
        return new SetFacts(null, null, new Wait(ErrorCode.ROLLOUT_PAUSED, set + " cannot be read (" + e.getMessage()
            + "): waiting", e.retryAfter()));
      }
      if (fetched.notFound()) {
        return new SetFacts(null, null, new Wait(ErrorCode.ROLLOUT_PAUSED, set + " is not published: waiting", null));
      }
      setBytes = fetched.body();
    }
    ReleaseSet releaseSet = verifier.verifyReleaseSet(setBytes, state.set(), state.setVersion());
    ReleaseSet.Component listed = releaseSet.component(config.app());
    if (listed == null || !listed.version().equals(version)) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the signed rollout state of " + version + " says "
          + set + " rolls it out, but the set lists " + (listed == null ? "no " + config.app()
          : config.app() + " " + listed.version()));
    }
    kept.keepSet(state.set(), state.setVersion(), setBytes);
    SetDocuments.Kept keptState = kept.state(state.set(), state.setVersion());
    RepositoryClient.Fetched fetched;
    try {
      fetched = parts.client().fetch(RepositoryLayout.setState(state.set(), state.setVersion()),
          DocumentType.SET_STATE.maxBytes(), keptState == null ? null : keptState.etag());
    } catch (HttpFailure e) {
      return new SetFacts(releaseSet, null, new Wait(ErrorCode.ROLLOUT_PAUSED, "the state of " + set + " cannot be"
          + " read (" + e.getMessage() + "): waiting (a stale or missing set state is a pause)", e.retryAfter()));
    }
    if (fetched.notFound()) {
      return new SetFacts(releaseSet, null, new Wait(ErrorCode.ROLLOUT_PAUSED, "no state of " + set + " is published"
          + " yet: waiting (a stale or missing set state is a pause)", null));
    }
    if (fetched.notModified() && keptState == null) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the repository answered 304 Not Modified for the"
          + " state of " + set + " without being asked conditionally");
    }
    byte[] stateBytes = fetched.notModified() ? keptState.body() : fetched.body();
    String stateEtag = fetched.notModified() ? keptState.etag() : fetched.etag();
    NodeState node = NodeState.read(parts.home().nodeFile());
    long trusted = node.rollout(version).setSequenceOrZero();
    SetState setState;
    try {
      setState = verifier.verifySetState(stateBytes, state.set(), state.setVersion(), trusted);
    } catch (UpgradeException e) {
      if (e.code() == ErrorCode.METADATA_EXPIRED) {
        return new SetFacts(releaseSet, null, new Wait(ErrorCode.ROLLOUT_PAUSED, "the state of " + set + " is stale ("
            + e.getMessage() + "): waiting (a stale or missing set state is a pause)", null));
      }
      throw e;
    }
    if (setState.sequence() > trusted) {
      node.withSetSequence(version, setState.sequence()).write(parts.home().nodeFile());
    }
    kept.keepState(state.set(), state.setVersion(), stateBytes, stateEtag);
    return new SetFacts(releaseSet, setState, null);
  }

  /**
   * Why a release its set has not let start yet waits, in the words of the signed set state ({@code
   * waiting for release set shop 2026.1: api starts after cache}); null when the set state cannot say.
   */
  private Wait heldBySet(String version, RolloutState state, MetadataVerifier verifier) {
    SetFacts facts;
    try {
      facts = setFacts(version, state, verifier);
    } catch (UpgradeException e) {
      return null; // the plain pause; GATE refuses the set for good when the rollout proceeds
    }
    if (facts.state() == null) {
      return null;
    }
    SetState.Component c = facts.state().component(config.app());
    String set = "release set " + state.set() + " " + state.setVersion();
    if (c == null || c.waitingFor().isEmpty()) {
      return new Wait(ErrorCode.ROLLOUT_PAUSED, "waiting for " + set + " to start the rollout of " + config.app() + " "
          + version, null);
    }
    return new Wait(ErrorCode.ROLLOUT_PAUSED, "waiting for " + set + ": " + config.app() + " starts after "
        + String.join(", ", c.waitingFor()), null);
  }

  /**
   * The recall order of the installed release: its verified state when it says {@code recall}, else
   * null. Never an order from stale, missing or unverifiable state: those are noted and ignored.
   */
  RolloutState recallOrder(String installed, MetadataVerifier verifier) {
    Observed observed;
    try {
      observed = state(installed, verifier);
    } catch (UpgradeException e) {
      parts.events().warn("the rollout state of the installed " + installed + " is not trusted, so it orders "
          + "nothing [" + e.code() + "]: " + e.getMessage());
      return null;
    }
    RolloutState state = observed.state();
    return state != null && state.action() == RolloutState.Action.RECALL ? state : null;
  }

  /**
   * Whether this node's wave is not yet in the recall, which goes back from the last wave: null when
   * it is (or the node does not know its wave: the server decides), else why it waits.
   */
  Wait recallNotYet(String installed, RolloutState state) {
    Integer wave = NodeState.read(parts.home().nodeFile()).rollout(installed).wave();
    if (wave == null || state.recallFrom() == null || wave >= state.recallFrom()) {
      return null;
    }
    return new Wait(ErrorCode.WAVE_NOT_OPEN, "waiting for the recall of " + installed + " to reach wave " + (wave + 1)
        + (state.waves() == null ? "" : " of " + state.waves()) + " (it goes back from the last wave; now at wave "
        + (state.recallFrom() + 1) + ")", null);
  }

  /**
   * A release that failed here may be tried again when the operator's retry count for this node in
   * its verified rollout state is higher than the one this node last acted on: then it is taken off
   * the bad list (with its crash count) and the new count is kept. Only for releases with a plan.
   */
  boolean retry(String version, MetadataVerifier verifier) {
    RolloutState state;
    try {
      state = state(version, verifier).state();
    } catch (UpgradeException e) {
      parts.events().warn("the rollout state of " + version + " is not trusted, so it orders no retry ["
          + e.code() + "]: " + e.getMessage());
      return false;
    }
    NodeState node = NodeState.read(parts.home().nodeFile());
    int count = state == null ? 0 : state.retriesOf(config.node().id());
    if (count <= node.rollout(version).retriesActedOn()) {
      return false;
    }
    node.withoutBad(version).withRetriesActedOn(version, count).write(parts.home().nodeFile());
    parts.events().info("the rollout lets this node try " + version + " again (retry " + count + "); it failed "
        + "here before");
    return true;
  }

  /**
   * Asks for a slot of {@code kind} until one is confirmed, the server says wait, or {@link
   * #ASKS_PER_RUN} grants were lost before their confirmation.
   */
  Decision lease(EventRun run, String version, LeaseGrant.Kind kind, RolloutState state, MetadataVerifier verifier,
      Runnable beforeConfirm) {
    requireCredential(version);
    String what = kind == LeaseGrant.Kind.RECALL ? "recall" : "upgrade";
    for (int ask = 1; ; ask++) {
      LeaseAnswer answer;
      try {
        answer = post("v1/leases", LeaseRequest.ask(config.app(), version, config.node().id(), kind), true);
      } catch (HttpFailure e) {
        // An unreachable controller pauses the rollout for this node; it is no failure of the node.
        return new Wait(ErrorCode.ROLLOUT_PAUSED, "repo-server did not answer the slot request ("
            + e.getMessage() + ")", e.retryAfter());
      }
      NodeState node = NodeState.read(parts.home().nodeFile());
      if (answer.wave() != null && !answer.wave().equals(node.rollout(version).wave())) {
        node.withWave(version, answer.wave()).write(parts.home().nodeFile());
      }
      if (answer.status() != LeaseAnswer.Status.GRANTED) {
        return waitOf(answer, version);
      }
      LeaseGrant grant = verify(answer.grant(), version, kind, state, verifier);
      if (kind == LeaseGrant.Kind.UPGRADE && !opens(state, grant.wave())) {
        // The server opened the wave after this node read the state: only a signed state that opens
        // it lets the grant be obeyed. Read it again; if it still lags, ask again shortly (the server
        // answers with the same grant): a wait, never a refusal, which would count as a failed node.
        Observed again = state(version, verifier);
        if (again.state() == null || again.state().action() != RolloutState.Action.PROCEED
            || !opens(again.state(), grant.wave())) {
          return new Wait(ErrorCode.WAVE_NOT_OPEN, "the slot grant is for wave " + (grant.wave() + 1) + ", but the "
              + "signed rollout state (sequence " + (again.state() == null ? state : again.state()).sequence()
              + ") does not open it yet; the grant is not obeyed until it does", STATE_BEHIND_RETRY);
        }
        state = again.state();
      }
      NodeState.Lease lease = new NodeState.Lease(run.eventId(), version, what, grant.wave(), grant.slot(),
          grant.generation(), false, null);
      // Kept before it is used: an updater restarted after a crash from here on returns it.
      NodeState.read(parts.home().nodeFile()).withLease(lease).withWave(version, grant.wave())
          .write(parts.home().nodeFile());
      parts.events().info("rollout slot " + grant.slot() + " (generation " + grant.generation() + ", wave "
          + (grant.wave() + 1) + ") granted for the " + what + " of " + version);
      beforeConfirm.run();
      LeaseAnswer confirmed;
      try {
        confirmed = post("v1/leases/confirm", held(lease, null), false);
      } catch (HttpFailure e) {
        // The server went away between the grant and its confirmation: nothing live changed, and the
        // grant waits on the server for its confirmation (asked again, the server gives the same
        // one), so this is a pause, never a failure of the node that would count against the wave.
        NodeState.read(parts.home().nodeFile()).withLease(null).write(parts.home().nodeFile());
        return new Wait(ErrorCode.ROLLOUT_PAUSED, "repo-server did not answer the confirmation of rollout slot "
            + grant.slot() + " (" + e.getMessage() + "); nothing changed here", e.retryAfter());
      }
      if (confirmed.status() == LeaseAnswer.Status.CONFIRMED) {
        NodeState.Lease sure = lease.confirm();
        NodeState.read(parts.home().nodeFile()).withLease(sure).write(parts.home().nodeFile());
        parts.events().info("rollout slot " + grant.slot() + " confirmed; going on with the " + what + " of "
            + version);
        return new Go(sure, answer.message());
      }
      // The slot went to another holder before this node changed anything: ask again.
      NodeState.read(parts.home().nodeFile()).withLease(null).write(parts.home().nodeFile());
      String lost = "rollout slot " + grant.slot() + " (generation " + grant.generation() + ") was lost before "
          + "anything live changed (" + orCode(confirmed) + ")";
      if (ask >= ASKS_PER_RUN) {
        return new Wait(ErrorCode.LEASE_LOST, lost + "; asking again later", retryAfter(confirmed));
      }
      parts.events().warn(lost + "; asking again");
    }
  }

  /**
   * Returns the kept slot once its event has ended (its outcome is in the lease), or a slot whose
   * event is gone (a damaged journal: returned as FAILED). Kept when repo-server cannot be reached
   * (the next run tries again); forgotten when the server took it back or refuses the call for good.
   */
  void releaseHeld() {
    NodeState node = NodeState.read(parts.home().nodeFile());
    NodeState.Lease lease = node.lease();
    if (lease == null) {
      return;
    }
    String outcome = lease.outcome();
    if (outcome == null) {
      Optional<JournalRecord> active = parts.journal().active();
      if (active.isPresent() && active.get().eventId().equals(lease.eventId())) {
        return; // its event is still to be finished
      }
      outcome = "FAILED";
    }
    try {
      LeaseAnswer answer = post("v1/leases/release", held(lease, outcome), false);
      parts.events().info("rollout slot " + lease.slot() + " of " + lease.version() + " returned (" + outcome + ")"
          + (answer.status() == LeaseAnswer.Status.RELEASED ? "" : ": " + orCode(answer)));
    } catch (HttpFailure e) {
      parts.events().warn("rollout slot " + lease.slot() + " of " + lease.version() + " could not be returned yet ("
          + e.getMessage() + "); the next run tries again");
      return;
    } catch (UpgradeException e) {
      parts.events().warn("repo-server refused the return of rollout slot " + lease.slot() + " of "
          + lease.version() + " [" + e.code() + "]: " + e.getMessage() + "; it is forgotten here (the server "
          + "frees it when its lease runs out)");
    }
    NodeState.read(parts.home().nodeFile()).withLease(null).write(parts.home().nodeFile());
  }

  /**
   * Fetches and verifies the rollout state of {@code version}; the sequence trusted is kept. Missing,
   * expired or unreachable state comes back as a pause.
   *
   * @throws UpgradeException a refusal: forged, replayed (older sequence), for another release, too large
   */
  Observed state(String version, MetadataVerifier verifier) {
    RepositoryClient.Fetched fetched;
    try {
      fetched = parts.client().fetch(RepositoryLayout.rolloutState(config.app(), version),
          DocumentType.ROLLOUT.maxBytes(), null);
    } catch (HttpFailure e) {
      return new Observed(null, "the rollout state of " + version + " cannot be read (" + e.getMessage() + ")",
          e.retryAfter());
    }
    if (fetched.notFound()) {
      return new Observed(null, "no rollout state is published for " + version + " yet", null);
    }
    NodeState node = NodeState.read(parts.home().nodeFile());
    long trusted = node.rollout(version).sequence();
    RolloutState state;
    try {
      state = verifier.verifyRolloutState(fetched.body(), config.app(), version, trusted);
    } catch (UpgradeException e) {
      if (e.code() == ErrorCode.METADATA_EXPIRED) {
        return new Observed(null, "the rollout state of " + version + " is stale (" + e.getMessage() + ")", null);
      }
      throw e;
    }
    if (state.sequence() > trusted) {
      node.withRolloutSequence(version, state.sequence(), state.expires()).write(parts.home().nodeFile());
    }
    return new Observed(state, null, null);
  }

  /**
   * The grant, verified: rollout role, not expired, this node, app and release, the kind asked, and
   * for a recall a wave the state recalls. Whether the state opens an upgrade grant's wave is
   * checked by the caller, which may read a newer state.
   */
  private LeaseGrant verify(String envelope, String version, LeaseGrant.Kind kind, RolloutState state,
      MetadataVerifier verifier) {
    LeaseGrant grant = verifier.verifyLeaseGrant(envelope.getBytes(StandardCharsets.UTF_8), config.app(),
        version, config.node().id());
    if (grant.kind() != kind) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "repo-server granted a " + name(grant.kind())
          + " slot where this node asked for a " + name(kind) + " slot");
    }
    if (kind == LeaseGrant.Kind.RECALL && state.recallFrom() != null && grant.wave() < state.recallFrom()) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the recall slot is for wave " + (grant.wave() + 1)
          + ", but the signed rollout state recalls from wave " + (state.recallFrom() + 1) + " on");
    }
    return grant;
  }

  private static boolean opens(RolloutState state, int wave) {
    return state.openWaves() != null && wave < state.openWaves();
  }

  /**
   * One lease call, as the node. 200 (or 201) carries a {@code lease-answer}, read strictly; 409 is
   * "lost" for a confirmation or a return ({@code LEASE_LOST}: a newer holder has the slot) and
   * "wait" for a request; 404 means the server has no rollout of the release (yet): a pause.
   *
   * @param ask a request for a slot (else a confirmation or a return)
   * @throws HttpFailure no answer, 429 or 5xx
   * @throws UpgradeException GATE_CLOSED when the server refuses the node or the call
   */
  private LeaseAnswer post(String endpoint, LeaseRequest request, boolean ask) {
    requireCredential(request.version()); // a slot kept from before the credential was removed too
    URI url = config.repository().resolve(endpoint);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("X-Upgradekit-Node", config.node().id());
    headers.put("Authorization", config.node().authorization());
    RepositoryClient.Fetched answer = parts.client().post(url, ApiBody.LEASE_REQUEST.write(request), headers);
    int status = answer.status();
    if (status == 200 || status == 201) {
      return ApiBody.LEASE_ANSWER.read(answer.body());
    }
    String code = answer.error().map(e -> e.code()).orElse(null);
    String message = answer.error().map(e -> e.message()).orElse(null);
    if (status == 409) {
      return ask ? new LeaseAnswer(LeaseAnswer.Status.WAIT, code == null ? ErrorCode.SCOPE_FULL.name() : code,
          message, null, null, null, null, null, null, null)
          : new LeaseAnswer(LeaseAnswer.Status.LOST, ErrorCode.LEASE_LOST.name(), message, null, null, null, null,
              null, null, null);
    }
    if (status == 404) {
      return ask ? new LeaseAnswer(LeaseAnswer.Status.WAIT, ErrorCode.ROLLOUT_PAUSED.name(), "repo-server has no "
          + "rollout of " + request.version() + " (yet)", null, null, null, null, null, null, null)
          : new LeaseAnswer(LeaseAnswer.Status.LOST, ErrorCode.LEASE_LOST.name(), "repo-server knows no such slot",
              null, null, null, null, null, null, null);
    }
    String error = code == null ? "" : " (" + code + ": " + message + ")";
    throw new UpgradeException(ErrorCode.GATE_CLOSED, url + " refused the call with HTTP " + status
        + (status == 401 || status == 403 ? ": check node.id and node.credential" : "") + error);
  }

  /** A confirmation ({@code outcome} null) or a return of a kept slot. */
  private LeaseRequest held(NodeState.Lease lease, String outcome) {
    return new LeaseRequest(config.app(), lease.version(), config.node().id(), kind(lease.kind()), lease.slot(),
        lease.generation(), outcome);
  }

  /** Why the server says wait, in the words {@code status} shows. */
  private static Wait waitOf(LeaseAnswer answer, String version) {
    ErrorCode code = ErrorCode.ROLLOUT_PAUSED;
    if (answer.status() == LeaseAnswer.Status.LOST) {
      code = ErrorCode.LEASE_LOST;
    } else if (answer.code() != null) {
      try {
        code = ErrorCode.valueOf(answer.code());
      } catch (IllegalArgumentException e) {
        // a code this updater does not know yet: still a wait
      }
    }
    String message;
    if (code == ErrorCode.WAVE_NOT_OPEN && answer.wave() != null && answer.waves() != null) {
      message = "waiting for wave " + (answer.wave() + 1) + " of " + answer.waves();
    } else if (code == ErrorCode.SCOPE_FULL && answer.busy() != null && answer.budget() != null) {
      message = "waiting for a slot: " + answer.busy() + " of " + answer.budget() + " busy";
    } else if (answer.message() != null && !answer.message().isBlank()) {
      message = answer.message();
    } else {
      message = switch (code) {
        case ROLLOUT_PAUSED -> "the rollout of " + version + " is paused";
        case ROLLOUT_HALTED -> "the rollout of " + version + " is halted";
        default -> "waiting for the rollout of " + version + " (" + orCode(answer) + ")";
      };
    }
    return new Wait(code, message, retryAfter(answer));
  }

  private static Duration retryAfter(LeaseAnswer answer) {
    return answer.retryAfterSeconds() == null ? null : Duration.ofSeconds(Math.min(answer.retryAfterSeconds(), 3600));
  }

  private static String orCode(LeaseAnswer answer) {
    String code = answer.code() == null ? answer.status().name() : answer.code();
    return answer.message() == null ? code : code + ": " + answer.message();
  }

  private static LeaseGrant.Kind kind(String name) {
    return LeaseGrant.Kind.valueOf(name.toUpperCase(Locale.ROOT));
  }

  private static String name(LeaseGrant.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  /** A release with a plan is installed only with a slot, and only a known node gets one. */
  private void requireCredential(String version) {
    if (config.node().credential() == null) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, config.file() + ": release " + version + " carries a "
          + "rollout plan, so this node must ask repo-server for a slot, which needs node.credential or "
          + "node.credentialFile (issued by 'repo-server node-credential')");
    }
  }
}
