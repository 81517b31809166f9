package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutDecision.Kind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A rollout's state: the fold of its decisions in sequence order. Pure and deterministic, so every
 * repo-server process that reads the same decisions sees the same rollout, and a restarted one
 * continues where the rollout was.
 */
public final class RolloutView {
  /** Where a rollout is. */
  public enum Status {
    /** No decision yet. */
    NOT_STARTED,
    /** The plan cannot hold its promise for the fleet as it is; see {@link #blockedReason()}. */
    BLOCKED,
    /** Waves open as their gates pass. */
    ACTIVE,
    /** Nobody else installs; an operator may resume or recall. */
    HALTED,
    /** Nodes on the release switch back, wave by wave in reverse. */
    RECALLING,
    /** No node runs the release any more (end). */
    RECALLED,
    /** Every wave passed its gate (end; nodes seen later still install). */
    COMPLETE
  }

  private final String app;
  private final String version;
  private Status status = Status.NOT_STARTED;
  private Schedule schedule;
  private String fromVersion;
  private String blockedReason;
  private int openWaves;
  private boolean paused;
  private int recallFrom = Integer.MAX_VALUE;
  private Instant startedAt;
  private final Map<Integer, Instant> waveDoneAt = new HashMap<>();
  private final Set<Integer> approved = new HashSet<>();
  private final Set<Integer> judged = new HashSet<>();
  private final Map<String, Instant> retriedAt = new HashMap<>();
  private final Map<String, Integer> retries = new HashMap<>();
  private final List<RolloutDecision> log = new ArrayList<>();
  private final Set<RolloutDecision.SetRef> carried = new HashSet<>();
  private RolloutDecision.SetRef pausedBy;
  private RolloutDecision.SetRef haltedBy;

  private RolloutView(String app, String version) {
    this.app = app;
    this.version = version;
  }

  /**
   * Folds decisions 1..n of one rollout.
   *
   * @throws IllegalArgumentException if they are not 1..n without gaps, or belong to another rollout
   */
  public static RolloutView fold(String app, String version, List<RolloutDecision> decisions) {
    RolloutView view = new RolloutView(app, version);
    for (RolloutDecision d : decisions) {
      view.apply(d);
    }
    return view;
  }

  /** Applies the next decision (sequence {@link #lastSequence()} + 1). */
  public void apply(RolloutDecision d) {
    if (!d.app().equals(app) || !d.version().equals(version)) {
      throw new IllegalArgumentException("decision " + d.sequence() + " is for " + d.app() + " " + d.version());
    }
    if (d.sequence() != log.size() + 1) {
      throw new IllegalArgumentException("decision " + d.sequence() + " follows " + log.size());
    }
    log.add(d);
    if (d.set() != null) {
      carried.add(d.set());
    }
    switch (d.kind()) {
      case START -> {
        if (status == Status.NOT_STARTED || status == Status.BLOCKED) {
          schedule = new Schedule(d.waves(), d.fleet(), d.minAvailable(), d.budget(), d.canary());
          fromVersion = d.fromVersion();
          status = Status.ACTIVE;
          startedAt = d.at();
          blockedReason = null;
        }
      }
      case BLOCKED -> {
        if (status == Status.NOT_STARTED || status == Status.BLOCKED) {
          status = Status.BLOCKED;
          blockedReason = d.reason();
        }
      }
      case OPEN_WAVE -> {
        if (status == Status.ACTIVE && d.wave() == openWaves && d.wave() < schedule.size()) {
          openWaves = d.wave() + 1;
        }
      }
      case WAVE_DONE -> waveDoneAt.putIfAbsent(d.wave(), d.at());
      case JUDGED -> judged.add(d.wave() == null ? Math.max(0, openWaves - 1) : d.wave());
      case PAUSE -> {
        if (!paused) {
          pausedBy = d.set();
        }
        paused = true;
      }
      case RESUME -> {
        paused = false;
        pausedBy = null;
        if (status == Status.HALTED) {
          status = Status.ACTIVE;
          haltedBy = null;
        }
      }
      case APPROVE -> approved.add(d.wave());
      case HALT -> {
        if (status == Status.ACTIVE) {
          status = Status.HALTED;
          haltedBy = d.set();
        }
      }
      case RECALL -> {
        if (status == Status.ACTIVE || status == Status.HALTED || status == Status.COMPLETE) {
          status = Status.RECALLING;
          recallFrom = Math.max(0, openWaves - 1);
        }
      }
      case RECALL_WAVE -> {
        if (status == Status.RECALLING) {
          recallFrom = Math.min(recallFrom, d.wave());
        }
      }
      case RETRY -> {
        retriedAt.put(d.node(), d.at());
        retries.merge(d.node(), 1, Integer::sum);
      }
      case COMPLETE -> {
        if (status == Status.ACTIVE) {
          status = Status.COMPLETE;
        }
      }
      case RECALLED -> {
        if (status == Status.RECALLING) {
          status = Status.RECALLED;
        }
      }
      default -> throw new IllegalStateException("unknown decision kind " + d.kind());
    }
  }

  public String app() {
    return app;
  }

  public String version() {
    return version;
  }

  public Status status() {
    return status;
  }

  /** The waves, from {@code start}; null before. */
  public Schedule schedule() {
    return schedule;
  }

  /** The version most of the fleet ran at the start (where a recall goes back to); null before. */
  public String fromVersion() {
    return fromVersion;
  }

  public String blockedReason() {
    return blockedReason;
  }

  /** How many waves are open: waves {@code 0 .. openWaves-1} may update. */
  public int openWaves() {
    return openWaves;
  }

  /** Whether an operator paused the rollout (no node starts an update). */
  public boolean paused() {
    return paused;
  }

  /** During a recall: nodes of waves from this one on may switch back; MAX_VALUE otherwise. */
  public int recallFrom() {
    return recallFrom;
  }

  public Instant startedAt() {
    return startedAt;
  }

  /** When wave {@code w} finished (its bake started), or null. */
  public Instant waveDoneAt(int w) {
    return waveDoneAt.get(w);
  }

  public boolean approved(int wave) {
    return approved.contains(wave);
  }

  public boolean judged(int wave) {
    return judged.contains(wave);
  }

  /** When {@code node} was last allowed to retry, or null. */
  public Instant retriedAt(String node) {
    return retriedAt.get(node);
  }

  /**
   * Whether an operator let {@code node} retry at or after {@code outcomeAt}: an outcome from
   * before its retry no longer counts (null outcome time: nothing to discount).
   */
  public boolean retriedSince(String node, Instant outcomeAt) {
    Instant retried = retriedAt.get(node);
    return retried != null && outcomeAt != null && !outcomeAt.isAfter(retried);
  }

  /** How often each node was allowed to retry (the signed state carries it to the nodes). */
  public Map<String, Integer> retries() {
    return Collections.unmodifiableMap(retries);
  }

  /** Whether a decision of this rollout carries out the release set decision {@code ref}. */
  public boolean carried(RolloutDecision.SetRef ref) {
    return carried.contains(ref);
  }

  /** The release set decision that paused the rollout, or null (not paused, or paused by an operator of the rollout). */
  public RolloutDecision.SetRef pausedBy() {
    return pausedBy;
  }

  /** The release set decision that halted the rollout, or null (not halted, or halted by itself or its operator). */
  public RolloutDecision.SetRef haltedBy() {
    return haltedBy;
  }

  /** Every decision, in order: the rollout's action log. */
  public List<RolloutDecision> log() {
    return Collections.unmodifiableList(log);
  }

  public long lastSequence() {
    return log.size();
  }

  /** The last decision, or null. */
  public RolloutDecision last() {
    return log.isEmpty() ? null : log.get(log.size() - 1);
  }

  /** Whether the rollout has ended (recalled or complete): the controller takes no more decisions. */
  public boolean ended() {
    return status == Status.RECALLED || status == Status.COMPLETE;
  }

  /** Whether nodes may install the release now (an open wave, not paused, not halted or recalled). */
  public boolean installing() {
    return (status == Status.ACTIVE || status == Status.COMPLETE) && !paused && openWaves > 0;
  }
}
