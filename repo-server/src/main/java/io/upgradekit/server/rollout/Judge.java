package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.RolloutPlan;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The canary judge: compares the nodes that run the new release with the nodes still on the old
 * one <em>over the same minutes</em> (not each node's "before" with its "after", which a change in
 * traffic would fool), from the error rate and latency their heartbeats carry.
 *
 * <p>Each node's samples inside the window are averaged first, then the nodes of a group, so a
 * node that heartbeats more often does not weigh more. The verdict is "worse" when the upgraded
 * group's error rate exceeds {@code errorRateFactor} times the baseline's and/or (per the policy's
 * {@code combine}, default {@code any}) its latency exceeds {@code latencyFactor} times the
 * baseline's; the baseline is floored ({@link #MIN_ERROR_RATE}, {@link #MIN_LATENCY_SECONDS}) so
 * that a perfect old fleet does not make one error a regression. Without samples from both groups
 * there is no verdict.
 */
public final class Judge {
  /** Error rates below this count as this much when compared (one error in a quiet minute is noise). */
  public static final double MIN_ERROR_RATE = 0.001;

  /** Latencies below this (in seconds) count as this much when compared. */
  public static final double MIN_LATENCY_SECONDS = 0.005;

  /** One heartbeat's figures from one node. */
  public record Sample(String node, Instant at, double errorRate, double latencySeconds) {}

  /** What the judge saw. Figures are NaN when a group had no samples. */
  public record Verdict(Outcome outcome, double upgradedErrorRate, double baselineErrorRate,
      double upgradedLatency, double baselineLatency, int upgradedNodes, int baselineNodes, String reason) {
    public boolean worse() {
      return outcome == Outcome.WORSE;
    }
  }

  public enum Outcome {
    /** Not enough samples in one of the groups to compare. */
    NO_VERDICT,
    /** Within the policy. */
    OK,
    /** Beyond the policy. */
    WORSE
  }

  private Judge() {}

  /**
   * @param upgraded samples of nodes on the new release (only those after their switch)
   * @param baseline samples of nodes still on the old version
   */
  public static Verdict judge(Collection<Sample> upgraded, Collection<Sample> baseline, RolloutPlan.RollbackPolicy policy,
      Instant now) {
    Duration window = Duration.ofSeconds(policy.windowSecondsOrDefault());
    Instant from = now.minus(window);
    Group up = Group.of(upgraded, from, now);
    Group base = Group.of(baseline, from, now);
    if (up.nodes == 0 || base.nodes == 0) {
      return new Verdict(Outcome.NO_VERDICT, up.errorRate, base.errorRate, up.latency, base.latency, up.nodes,
          base.nodes, up.nodes == 0 ? "no samples from upgraded nodes in the last " + window.toSeconds() + " s"
              : "no samples from nodes on the old version in the last " + window.toSeconds() + " s");
    }
    double errorLimit = Math.max(base.errorRate, MIN_ERROR_RATE) * policy.errorRateFactorOrDefault();
    double latencyLimit = Math.max(base.latency, MIN_LATENCY_SECONDS) * policy.latencyFactorOrDefault();
    boolean errors = up.errorRate > errorLimit;
    boolean slow = up.latency > latencyLimit;
    boolean worse = "all".equals(policy.combine()) ? errors && slow : errors || slow;
    String figures = String.format(Locale.ROOT, "error rate %.4f on %d upgraded nodes vs %.4f on %d old (limit %.4f),"
        + " latency %.4f s vs %.4f s (limit %.4f s)", up.errorRate, up.nodes, base.errorRate, base.nodes, errorLimit,
        up.latency, base.latency, latencyLimit);
    return new Verdict(worse ? Outcome.WORSE : Outcome.OK, up.errorRate, base.errorRate, up.latency, base.latency,
        up.nodes, base.nodes, figures);
  }

  /** Per-node averages inside the window, averaged over nodes. */
  private record Group(int nodes, double errorRate, double latency) {
    static Group of(Collection<Sample> samples, Instant from, Instant to) {
      Map<String, double[]> perNode = new HashMap<>(); // sum errors, sum latency, count
      for (Sample s : samples) {
        if (s.at().isBefore(from) || s.at().isAfter(to) || !Double.isFinite(s.errorRate())
            || !Double.isFinite(s.latencySeconds()) || s.errorRate() < 0 || s.latencySeconds() < 0) {
          continue;
        }
        double[] sums = perNode.computeIfAbsent(s.node(), n -> new double[3]);
        sums[0] += s.errorRate();
        sums[1] += s.latencySeconds();
        sums[2]++;
      }
      if (perNode.isEmpty()) {
        return new Group(0, Double.NaN, Double.NaN);
      }
      double errors = 0;
      double latency = 0;
      for (double[] sums : perNode.values()) {
        errors += sums[0] / sums[2];
        latency += sums[1] / sums[2];
      }
      return new Group(perNode.size(), errors / perNode.size(), latency / perNode.size());
    }
  }
}
