package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.SetDecision;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A release set's rollout: the fold of its decisions in sequence order, like {@link RolloutView}
 * for one release. Pure and deterministic, so every repo-server process that reads the same
 * decisions sees the same set, and a restarted one continues where it was.
 */
public final class SetView {
  /** Where a set is. */
  public enum Status {
    /** No decision yet. */
    NOT_STARTED,
    /** Components roll out in dependency order. */
    RUNNING,
    /** Nothing starts or proceeds (a failure under {@code manual}, or an operator's halt) until a resume. */
    HALTED,
    /** The components rolled go back, top-down. */
    RECALLING,
    /** Every component the set rolled is back (end). */
    RECALLED,
    /** Every component completed healthy (end). */
    COMPLETE
  }

  private final String name;
  private final String version;
  private Status status = Status.NOT_STARTED;
  private boolean paused;
  private SetDecision standing;
  private final Set<String> started = new LinkedHashSet<>();
  private final Set<String> recallAsked = new LinkedHashSet<>();
  private final List<SetDecision> recallOrders = new ArrayList<>();
  private final List<SetDecision> log = new ArrayList<>();

  private SetView(String name, String version) {
    this.name = name;
    this.version = version;
  }

  /**
   * Folds decisions 1..n of one set.
   *
   * @throws IllegalArgumentException if they are not 1..n without gaps, or belong to another set
   */
  public static SetView fold(String name, String version, List<SetDecision> decisions) {
    SetView view = new SetView(name, version);
    decisions.forEach(view::apply);
    return view;
  }

  /** Applies the next decision (sequence {@link #lastSequence()} + 1). */
  public void apply(SetDecision d) {
    if (!d.name().equals(name) || !d.version().equals(version)) {
      throw new IllegalArgumentException("decision " + d.sequence() + " is for set " + d.name() + " " + d.version());
    }
    if (d.sequence() != log.size() + 1) {
      throw new IllegalArgumentException("decision " + d.sequence() + " follows " + log.size());
    }
    log.add(d);
    switch (d.kind()) {
      case START -> {
        if (status == Status.NOT_STARTED) {
          status = Status.RUNNING;
        }
      }
      case START_COMPONENTS -> started.addAll(d.apps());
      case PAUSE -> {
        paused = true;
        standing = d;
      }
      case RESUME -> {
        paused = false;
        standing = d;
        if (status == Status.HALTED) {
          status = Status.RUNNING;
        }
      }
      case HALT -> {
        standing = d;
        if (status == Status.RUNNING) {
          status = Status.HALTED;
        }
      }
      case RECALL -> {
        if (status == Status.RUNNING || status == Status.HALTED || status == Status.COMPLETE) {
          status = Status.RECALLING;
          paused = false;
          standing = null;
        }
      }
      case RECALL_COMPONENTS -> {
        recallAsked.addAll(d.apps());
        recallOrders.add(d);
      }
      case COMPLETE -> {
        if (status == Status.RUNNING) {
          status = Status.COMPLETE;
        }
      }
      case RECALLED -> {
        if (status == Status.RECALLING) {
          status = Status.RECALLED;
        }
      }
      default -> throw new IllegalStateException("unknown set decision kind " + d.kind());
    }
  }

  public String name() {
    return name;
  }

  public String version() {
    return version;
  }

  public Status status() {
    return status;
  }

  /** Whether an operator paused the set (no component starts). */
  public boolean paused() {
    return paused;
  }

  /**
   * The pause, resume or halt in force, whose part on each component is carried out by a decision of
   * that component's rollout; null when none is (or a recall superseded it).
   */
  public SetDecision standing() {
    return standing;
  }

  /** The components the set let start, in the order it did. */
  public Set<String> started() {
    return Collections.unmodifiableSet(started);
  }

  /** The components a recall of the set asked to go back. */
  public Set<String> recallAsked() {
    return Collections.unmodifiableSet(recallAsked);
  }

  /** The {@code recall-components} decisions, in order. */
  public List<SetDecision> recallOrders() {
    return Collections.unmodifiableList(recallOrders);
  }

  /** Every decision, in order: the set's action log. */
  public List<SetDecision> log() {
    return Collections.unmodifiableList(log);
  }

  public long lastSequence() {
    return log.size();
  }

  /** The last decision, or null. */
  public SetDecision last() {
    return log.isEmpty() ? null : log.get(log.size() - 1);
  }

  /** The last decision of {@code kind}, or null. */
  public SetDecision lastOf(SetDecision.Kind kind) {
    for (int i = log.size() - 1; i >= 0; i--) {
      if (log.get(i).kind() == kind) {
        return log.get(i);
      }
    }
    return null;
  }

  /** Whether the set has ended (complete or recalled): it takes no more decisions by itself. */
  public boolean ended() {
    return status == Status.COMPLETE || status == Status.RECALLED;
  }

  /** Whether the set lets {@code app}'s rollout start now. */
  public boolean mayStart(String app) {
    return status == Status.RUNNING && !paused && started.contains(app);
  }
}
