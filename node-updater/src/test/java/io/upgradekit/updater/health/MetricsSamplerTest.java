package io.upgradekit.updater.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.config.UpdaterConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MetricsSamplerTest {
  private static final String TEXT = """
      # HELP hello_requests_total Requests.
      # TYPE hello_requests_total counter
      hello_requests_total{code="200"} 90
      hello_requests_total{code="500"} 10
      hello_request_errors_total 10
      hello_request_duration_seconds_sum 2.5
      hello_request_duration_seconds_count 100
      http_error_ratio 0.02 1700000000000
      """;

  private static UpdaterConfig.Watch watch(String errorRate, String latency, boolean requireBoth) {
    return new UpdaterConfig.Watch(Duration.ofSeconds(10), Duration.ofSeconds(1), new UpdaterConfig.ServiceUrl("http://127.0.0.1:1/m"),
        UpdaterConfig.MetricsFormat.PROMETHEUS, errorRate, latency, 3, 2, requireBoth, 0.001, 0.001);
  }

  @Test
  void prometheusSumsSeriesOrPicksTheExactLabelSet() {
    assertThat(MetricsSampler.prometheus(TEXT, "hello_requests_total")).isEqualTo(100.0);
    assertThat(MetricsSampler.prometheus(TEXT, "hello_requests_total{code=\"500\"}")).isEqualTo(10.0);
    assertThat(MetricsSampler.prometheus(TEXT, "http_error_ratio")).isEqualTo(0.02);
    assertThat(MetricsSampler.prometheus(TEXT, "hello_requests")).isNaN();
  }

  @Test
  void jsonFollowsADotPath() {
    byte[] body = "{\"http\":{\"errors\":{\"rate\":0.5}}}".getBytes(StandardCharsets.UTF_8);
    assertThat(MetricsSampler.json(body, "http.errors.rate")).isEqualTo(0.5);
    assertThat(MetricsSampler.json(body, "http.latency")).isNaN();
  }

  @Test
  void counterRatiosAreTakenOverTheIncreaseBetweenSamples() {
    MetricsSampler sampler = new MetricsSampler(watch("errors / requests", "sum / count", true), v -> null);
    assertThat(sampler.needsTwoSamples()).isTrue();
    MetricsSampler.Raw before = new MetricsSampler.Raw(new double[] {10, 100}, new double[] {2.5, 100});
    MetricsSampler.Raw after = new MetricsSampler.Raw(new double[] {30, 200}, new double[] {12.5, 200});
    MetricsSampler.Sample s = sampler.derive(before, after);
    assertThat(s.errorRate()).isEqualTo(0.2);
    assertThat(s.latency()).isEqualTo(0.1);
    // A new process restarts its counters: no value rather than a negative one.
    assertThat(sampler.derive(after, before).complete()).isFalse();
    // No traffic in between: no value.
    assertThat(sampler.derive(before, before).errorRate()).isNaN();
  }

  @Test
  void policyNeedsBothOrEitherBeyondTheirFactors() {
    MetricsSampler.Sample baseline = new MetricsSampler.Sample(0.01, 0.1);
    MetricsSampler both = new MetricsSampler(watch("e", "l", true), v -> null);
    MetricsSampler any = new MetricsSampler(watch("e", "l", false), v -> null);
    MetricsSampler.Sample onlyErrors = new MetricsSampler.Sample(0.05, 0.1);
    MetricsSampler.Sample bothWorse = new MetricsSampler.Sample(0.05, 0.25);
    assertThat(both.judge(baseline, onlyErrors, both.configuredPolicy())).isNull();
    assertThat(any.judge(baseline, onlyErrors, any.configuredPolicy())).contains("error rate 0.0500");
    assertThat(both.judge(baseline, bothWorse, both.configuredPolicy())).contains("latency 0.2500");
    // A zero baseline is floored, so a tiny error rate is not "infinitely worse".
    assertThat(any.judge(new MetricsSampler.Sample(0, 0.1), new MetricsSampler.Sample(0.002, 0.1),
        any.configuredPolicy())).isNull();
    assertThat(any.judge(null, bothWorse, any.configuredPolicy())).isNull();
  }
}
