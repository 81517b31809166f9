package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/rollouts/<app>/<version>/series}: the canary judge's figures over time, what the
 * dashboard draws: the error rate and latency of the nodes on the release against the nodes still
 * on the old version, over the same minutes, in buckets across the judge's window (per bucket each
 * node's samples are averaged first, then the nodes, as the judge does). Operator or viewer
 * credentials. Schema {@code rollout-series.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param app the app
 * @param version the release
 * @param windowSeconds the span drawn: the plan's rollback window
 * @param bucketSeconds the width of one bucket
 * @param errorRateFactor the plan's factor: upgraded error rate above this many times the baseline is worse
 * @param latencyFactor the plan's factor for latency
 * @param points one per bucket with samples, oldest first
 */
public record RolloutSeries(Instant generatedAt, String app, String version, long windowSeconds, long bucketSeconds,
    double errorRateFactor, double latencyFactor, List<Point> points) {
  /** Buckets per series at most. */
  public static final int MAX_POINTS = 240;

  public RolloutSeries {
    Wire.required(generatedAt, "generatedAt");
    Names.requireApp(app);
    Names.requireVersion(version);
    Wire.positive(windowSeconds, "windowSeconds");
    Wire.positive(bucketSeconds, "bucketSeconds");
    if (!(errorRateFactor > 0) || !(latencyFactor > 0) || Double.isInfinite(errorRateFactor)
        || Double.isInfinite(latencyFactor)) {
      throw Wire.malformed("the factors must be positive numbers");
    }
    points = List.copyOf(Wire.required(points, "points"));
    if (points.size() > MAX_POINTS) {
      throw Wire.malformed("at most " + MAX_POINTS + " points");
    }
  }

  /**
   * One bucket (figures null where a group had no samples in it).
   *
   * @param at the bucket's end
   * @param upgradedErrorRate the mean error rate of the nodes on the release
   * @param baselineErrorRate the same of the nodes on other versions
   * @param upgradedLatency the mean latency (seconds) of the nodes on the release
   * @param baselineLatency the same of the nodes on other versions
   * @param upgradedNodes nodes on the release with samples in the bucket
   * @param baselineNodes nodes on other versions with samples in the bucket
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Point(Instant at, Double upgradedErrorRate, Double baselineErrorRate, Double upgradedLatency,
      Double baselineLatency, int upgradedNodes, int baselineNodes) {
    public Point {
      Wire.required(at, "at");
      Wire.nonNegative(upgradedNodes, "upgradedNodes");
      Wire.nonNegative(baselineNodes, "baselineNodes");
    }
  }
}
