package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.updater.health.MetricsSampler;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * The second half of VERIFY: for the watch window, every {@code watch.interval} the health check
 * and a metrics sample of the new version, judged against the baseline sampled before STOP. A
 * regression beyond the policy fails VERIFY ({@code METRICS_REGRESSION}) when the policy acts on
 * it; under a {@code manual} release policy it is noted ("regression seen, not acted on"), which
 * reaches history and the report.
 */
final class WatchWindow {
  private final Parts parts;
  private final MetricsSampler metrics;

  WatchWindow(Parts parts) {
    this.parts = parts;
    this.metrics = parts.metrics();
  }

  /**
   * The watch policy: the release's own rollback policy when its manifest carries one (factors and
   * window; {@code manual} means observe and report only), else {@code watch.policy}.
   */
  MetricsSampler.Policy policyFor(ReleaseManifest manifest) {
    MetricsSampler.Policy configured = metrics.configuredPolicy();
    RolloutPlan.RollbackPolicy signed = manifest.rollout() == null ? null : manifest.rollout().rollback();
    if (signed == null) {
      return configured;
    }
    return new MetricsSampler.Policy(
        signed.errorRateFactor() == null ? configured.errorRateFactor() : signed.errorRateFactor(),
        signed.latencyFactor() == null ? configured.latencyFactor() : signed.latencyFactor(),
        configured.requireBoth(),
        signed.windowSeconds() == null ? configured.window() : Duration.ofSeconds(signed.windowSeconds()),
        "auto".equals(signed.mode()), "the release's rollback policy (" + signed.mode() + ")");
  }

  /** Watches {@code run}'s new version; returns at the end of the window, or throws the failure. */
  void watch(EventRun run, MetricsSampler.Sample baseline, ReleaseManifest manifest) {
    if (metrics == null) {
      return; // the health check passed; no watch window is configured
    }
    MetricsSampler.Policy policy = policyFor(manifest);
    if (baseline == null || !baseline.complete()) {
      parts.events().warn("no baseline metrics were sampled before the switch; the watch window only checks health");
    }
    Instant end = parts.clock().instant().plus(policy.window());
    double worstErrors = 0;
    double worstLatency = 0;
    String version = run.toVersion();
    MetricsSampler.Raw previous = metrics.sampleRaw(version);
    while (parts.clock().instant().isBefore(end)) {
      sleep(parts.config().watch().interval());
      String problem = parts.health().checkOnce(version);
      if (problem != null) {
        throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "during the watch window: " + problem);
      }
      MetricsSampler.Raw raw = metrics.sampleRaw(version);
      MetricsSampler.Sample now = raw == null ? null : metrics.derive(previous, raw);
      if (raw != null) {
        previous = raw;
      }
      if (now != null && now.complete()) {
        worstErrors = Math.max(worstErrors, now.errorRate());
        worstLatency = Math.max(worstLatency, now.latency());
        run.metrics(Map.of("watch.error_rate", worstErrors, "watch.latency", worstLatency));
        String verdict = metrics.judge(baseline, now, policy);
        if (verdict != null && policy.rollBack()) {
          throw new UpgradeException(ErrorCode.METRICS_REGRESSION, "beyond the rollback policy: " + verdict);
        }
        if (verdict != null) {
          parts.events().warn("regression seen, not acted on (the release's rollback policy is manual): " + verdict);
        }
      }
    }
  }

  private void sleep(Duration d) {
    try {
      parts.sleeper().sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.INTERRUPTED, "interrupted during the watch window");
    }
  }
}
