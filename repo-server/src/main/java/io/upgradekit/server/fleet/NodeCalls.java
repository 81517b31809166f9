package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.NodeCall;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.Schedule;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * {@code GET /v1/calls}: a node between two polls asks to be told when a rollout needs it now, and
 * the server holds the request (no thread, no file read) until one does or the node's wait ends.
 * Without it a node learns that its wave opened at its next poll, up to a whole poll interval
 * later; with it the canary starts within a moment of the rollout's start, and every wave within a
 * moment of its opening (docs/rollouts.md, "Calls").
 *
 * <p>A rollout calls a node when the node would get a slot if it asked, as far as waves go: the
 * rollout proceeds (not paused, halted or recalled), the node's wave is open in the decisions and
 * in the stored signed state, the node does not run the release, and it has not failed on it since
 * its last retry; or the release is being recalled, the node runs it, and the recall reached its
 * wave. Each call is named by a token (the release and the rollout's last decision sequence); a
 * node sends back the last token it got, so a call is answered once, and the next decision that
 * still calls it answers again. Whether the budget has a slot free is the slot request's business:
 * a called node that finds the budget full waits as it is told.
 *
 * <p>Held requests are looked at again after each pass of this process's controller and every
 * {@link #LOOK_EVERY}; a server without the rollout key calls nobody and answers when the wait
 * ends. A node has one held request at most (a new one answers the older one with no call), and
 * the server holds at most {@code maxHeld}; beyond that a request is answered at once with no
 * call, and the node polls as it always did.
 *
 * <p>Thread-safe.
 */
public final class NodeCalls {
  /** The longest a request is held: well inside the connection's idle timeout and any proxy's. */
  public static final Duration LONGEST_WAIT = Duration.ofSeconds(25);

  /** How often held requests are looked at besides the controller's passes (other servers' decisions, waits' ends). */
  public static final Duration LOOK_EVERY = Duration.ofSeconds(1);

  /** A called wave's polls are spread by this much per node ({@link #spread}). */
  static final Duration SPREAD_PER_NODE = Duration.ofMillis(10);

  /** The longest spread of a called wave's polls: a wave of a thousand nodes takes two seconds to start. */
  static final Duration LONGEST_SPREAD = Duration.ofSeconds(2);

  private final LeaseService leases;
  private final LiveRollouts rollouts;
  private final FleetIndex reports;
  private final Clock clock;
  private final int maxHeld;
  private final Duration longestWait;
  private final ConcurrentHashMap<String, Held> held = new ConcurrentHashMap<>();
  private final LongAdder calls = new LongAdder();
  private volatile boolean closed;

  /** One held request. */
  private static final class Held {
    final Request request;
    final Instant until;
    final Consumer<NodeCall> answer;
    final AtomicBoolean answered = new AtomicBoolean();

    Held(Request request, Instant until, Consumer<NodeCall> answer) {
      this.request = request;
      this.until = until;
      this.answer = answer;
    }

    boolean answer(NodeCall call) {
      if (!answered.compareAndSet(false, true)) {
        return false;
      }
      answer.accept(call);
      return true;
    }
  }

  /**
   * What a node asks.
   *
   * @param node the node (the authenticated one)
   * @param app the app it runs
   * @param channel the channel it follows
   * @param version the version it runs, or null before its first install
   * @param after the token of the last call it got, or null
   */
  public record Request(String node, String app, String channel, String version, String after) {
    public Request {
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(app, "app");
      Objects.requireNonNull(channel, "channel");
    }
  }

  /**
   * @param maxHeld requests held at once at most (about a fleet's size: each is a connection and a few hundred
   *     bytes)
   * @param longestWait the longest a request is held (at most {@link #LONGEST_WAIT})
   */
  public NodeCalls(LeaseService leases, LiveRollouts rollouts, FleetIndex reports, Clock clock, int maxHeld,
      Duration longestWait) {
    if (maxHeld < 1) {
      throw new IllegalArgumentException("maxHeld must be at least 1");
    }
    this.leases = leases;
    this.rollouts = rollouts;
    this.reports = reports;
    this.clock = clock;
    this.maxHeld = maxHeld;
    this.longestWait = longestWait.compareTo(LONGEST_WAIT) > 0 ? LONGEST_WAIT : longestWait;
  }

  /** The wait a request gets: what the node asked for, at most {@link #longestWait()}. */
  public Duration waitFor(Duration asked) {
    return asked.compareTo(longestWait) > 0 ? longestWait : asked.isNegative() ? Duration.ZERO : asked;
  }

  /** The longest this server holds a request. */
  public Duration longestWait() {
    return longestWait;
  }

  /** Requests held now. */
  public int held() {
    return held.size();
  }

  /** Calls answered since the start. */
  public long calls() {
    return calls.sum();
  }

  /**
   * Answers at once when a rollout calls the node with a call other than {@code after}, or when the
   * wait is zero; else holds the request until one does or {@code wait} passed ({@code answer} runs
   * on another thread then).
   *
   * @throws UpgradeException ACCESS_DENIED when the request names another node
   */
  public void await(Caller.Node caller, Request request, Duration wait, Consumer<NodeCall> answer) {
    if (!caller.id().equals(request.node())) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + caller.id() + " cannot wait for calls to node "
          + request.node());
    }
    NodeCall now = call(request);
    Duration holdFor = waitFor(wait);
    if (now != null || holdFor.isZero() || closed
        || (held.size() >= maxHeld && !held.containsKey(request.node()))) {
      answer(now, request, answer);
      return;
    }
    Held mine = new Held(request, clock.instant().plus(holdFor), answer);
    Held older = held.put(request.node(), mine);
    if (older != null) {
      older.answer(NodeCall.none(older.request.after())); // a node waits once; its older request is over
    }
    // A look or a close between the check above and the put would have missed this request.
    NodeCall again = call(request);
    if (again != null || closed) {
      finish(mine, again != null ? again : NodeCall.none(request.after()));
    }
  }

  private void answer(NodeCall now, Request request, Consumer<NodeCall> answer) {
    if (now != null) {
      calls.increment();
      answer.accept(now);
    } else {
      answer.accept(NodeCall.none(request.after()));
    }
  }

  /** Looks at every held request again: answers those a rollout calls now and those whose wait ended. */
  public void look() {
    Instant now = clock.instant();
    for (Held h : held.values()) {
      NodeCall call = call(h.request);
      if (call != null) {
        finish(h, call);
      } else if (!now.isBefore(h.until)) {
        finish(h, NodeCall.none(h.request.after()));
      }
    }
  }

  /**
   * The server stops: answers every held request with no call, and from now on every request at
   * once (a graceful stop waits for requests in flight; the nodes poll as usual meanwhile).
   */
  public void close() {
    closed = true;
    for (Held h : held.values()) {
      finish(h, NodeCall.none(h.request.after()));
    }
  }

  /** Whether {@link #close} was called. */
  public boolean closed() {
    return closed;
  }

  private void finish(Held h, NodeCall call) {
    held.remove(h.request.node(), h);
    if (h.answer(call) && call.call()) {
      calls.increment();
    }
  }

  /** The call of a rollout on this node other than {@code after}, or null. */
  NodeCall call(Request request) {
    if (!leases.controlled()) {
      return null;
    }
    Instant now = clock.instant();
    for (LiveRollouts.Rollout rollout : rollouts.all()) {
      if (!rollout.app().equals(request.app()) || !rollout.channels().contains(request.channel())) {
        continue;
      }
      String reason;
      RolloutView view;
      try {
        LeaseService.Gate gate = leases.gate(rollout, now);
        view = gate.view();
        reason = reason(rollout, view, gate.signedOpen(), request);
      } catch (IOException | RuntimeException e) {
        continue; // a rollout that cannot be read calls nobody; the node polls as usual
      }
      if (reason == null) {
        continue;
      }
      String token = rollout.version() + "/" + view.lastSequence();
      if (!token.equals(request.after())) {
        int waveSize = view.schedule().waves().get(view.schedule().waveOf(request.node())).size();
        return new NodeCall(true, token, reason, spread(waveSize));
      }
    }
    return null;
  }

  /**
   * The spread of a wave's polls: {@link #SPREAD_PER_NODE} per node of the wave, at most {@link
   * #LONGEST_SPREAD}. A wave of 100 nodes called at once would otherwise ask for 100 slots in the
   * same millisecond, and each grant is a durable write: spread over a second they queue for
   * nothing. The canary alone polls at once.
   */
  static long spread(int waveSize) {
    long millis = Math.max(0, waveSize - 1) * SPREAD_PER_NODE.toMillis();
    return Math.min(millis, LONGEST_SPREAD.toMillis());
  }

  /** Why {@code rollout} calls the node now, or null when it does not. */
  private String reason(LiveRollouts.Rollout rollout, RolloutView view, int signedOpen, Request request) {
    Schedule schedule = view.schedule();
    if (schedule == null) {
      return null;
    }
    int wave = schedule.waveOf(request.node());
    String release = rollout.app() + " " + rollout.version();
    boolean runsIt = rollout.version().equals(request.version());
    switch (view.status()) {
      case ACTIVE, COMPLETE -> {
        int open = view.status() == RolloutView.Status.COMPLETE ? schedule.size()
            : Math.min(view.openWaves(), signedOpen);
        if (view.paused() || runsIt || wave >= open || failedHere(rollout, view, request.node())) {
          return null;
        }
        return LeaseService.waveName(wave, schedule) + " of " + release + " is open";
      }
      case RECALLING -> {
        if (!runsIt || wave < view.recallFrom()) {
          return null;
        }
        return "the recall of " + release + " reached " + LeaseService.waveName(wave, schedule);
      }
      default -> {
        return null;
      }
    }
  }

  /** Whether the node's last report is a failure on this release that no operator's retry came after. */
  private boolean failedHere(LiveRollouts.Rollout rollout, RolloutView view, String node) {
    Feedback last = reports.lastReport(node, rollout.app());
    if (last == null || !rollout.version().equals(last.toVersion())
        || !Set.of("ROLLED_BACK", "REFUSED", "FAILED").contains(last.outcome())) {
      return false;
    }
    return !view.retriedSince(node, last.sentAt());
  }
}
