package io.upgradekit.updater.health;

import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.process.ProcessPort;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Samples the service's error rate and latency from its metrics endpoint, Prometheus text or JSON.
 *
 * <p>Each of the two configured expressions is either a single metric (a gauge: its value is
 * used as it is) or a ratio of two counters, {@code a / b}, evaluated over the increase between
 * two samples: {@code errors_total / requests_total} is the error rate of the requests in between,
 * {@code duration_seconds_sum / duration_seconds_count} their mean latency. A metric is a
 * Prometheus name (all its series summed) or a name with an exact label set ({@code
 * name{code="500"}}), or for JSON a dot path to a number. Reads at most {@value #MAX_BYTES} bytes
 * with the usual request timeout and stall watchdog.
 *
 * <p>Every sample is of the process of one version; with {@code {processPort}} in the URL it is
 * read from that process's private port, so two versions sharing the service's port never mix.
 */
public final class MetricsSampler {
  static final int MAX_BYTES = 4 * 1024 * 1024;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  /** Error rate and latency; a value is NaN when it cannot be computed (absent, no traffic). */
  public record Sample(double errorRate, double latency) {
    public boolean complete() {
      return !Double.isNaN(errorRate) && !Double.isNaN(latency);
    }
  }

  /** The raw values of the metrics the expressions name, at one instant. */
  public record Raw(double[] errorRate, double[] latency) {}

  private final UpdaterConfig.Watch config;
  private final Function<String, ProcessPort> ports;
  private final String[] errorRate;
  private final String[] latency;

  /** @param ports the private port of the running process of a version ({@code ServiceController::privatePort}) */
  public MetricsSampler(UpdaterConfig.Watch config, Function<String, ProcessPort> ports) {
    this.config = config;
    this.ports = ports;
    this.errorRate = parse(config.errorRate());
    this.latency = parse(config.latency());
  }

  /** {@code "a / b"} to {a, b}; a single metric to {a}. */
  static String[] parse(String expression) {
    String[] parts = expression.split("\\s+/\\s+");
    if (parts.length > 2) {
      throw new IllegalArgumentException("at most one '/' in " + expression);
    }
    for (int i = 0; i < parts.length; i++) {
      parts[i] = parts[i].strip();
    }
    return parts;
  }

  /** True when an expression is a ratio of counters, which needs two samples for one value. */
  public boolean needsTwoSamples() {
    return errorRate.length == 2 || latency.length == 2;
  }

  /** Reads the endpoint of the process of {@code version} once; null when it cannot be read. */
  public Raw sampleRaw(String version) {
    URI url;
    if (config.metricsUrl().perProcess()) {
      ProcessPort port = ports.apply(version);
      if (!port.known()) {
        return null;
      }
      url = config.metricsUrl().resolve(port.port());
    } else {
      url = config.metricsUrl().fixed();
    }
    byte[] body = RepositoryClient.getSmall(url, MAX_BYTES, TIMEOUT);
    if (body == null) {
      return null;
    }
    return new Raw(values(body, errorRate), values(body, latency));
  }

  /**
   * The baseline before the switch: one sample for gauges, or two {@code interval} apart for
   * counter ratios, of the process of {@code version}. Null when the endpoint cannot be read.
   */
  public Sample baseline(String version, Duration interval) throws InterruptedException {
    Raw first = sampleRaw(version);
    if (first == null) {
      return null;
    }
    if (!needsTwoSamples()) {
      return derive(null, first);
    }
    Thread.sleep(interval.toMillis());
    Raw second = sampleRaw(version);
    return second == null ? null : derive(first, second);
  }

  /** The values between two raw samples ({@code before} may be null for gauges). */
  public Sample derive(Raw before, Raw now) {
    return new Sample(value(errorRate, before == null ? null : before.errorRate(), now.errorRate()),
        value(latency, before == null ? null : before.latency(), now.latency()));
  }

  private static double value(String[] expression, double[] before, double[] now) {
    if (expression.length == 1) {
      return now[0];
    }
    if (before == null) {
      return Double.NaN;
    }
    double numerator = now[0] - before[0];
    double denominator = now[1] - before[1];
    if (!(denominator > 0) || numerator < 0) {
      return Double.NaN; // no traffic in between, or a counter reset (new process)
    }
    return numerator / denominator;
  }

  private double[] values(byte[] body, String[] metrics) {
    double[] out = new double[metrics.length];
    String text = config.format() == UpdaterConfig.MetricsFormat.JSON ? null : new String(body, StandardCharsets.UTF_8);
    for (int i = 0; i < metrics.length; i++) {
      out[i] = text == null ? json(body, metrics[i]) : prometheus(text, metrics[i]);
    }
    return out;
  }

  /**
   * The value of {@code selector} in Prometheus text: with a label set, the series with exactly
   * those labels; without, the sum of every series of that name. NaN when absent.
   */
  static double prometheus(String text, String selector) {
    boolean exact = selector.contains("{");
    double sum = 0;
    boolean found = false;
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      int brace = l.indexOf('{');
      int space = l.indexOf(' ');
      int end = brace >= 0 && (space < 0 || brace < space) ? l.indexOf('}') + 1 : space;
      if (end <= 0 || end >= l.length()) {
        continue;
      }
      String series = l.substring(0, end).strip();
      String name = brace >= 0 && brace < end ? series.substring(0, series.indexOf('{')) : series;
      if (exact ? !series.equals(selector) : !name.equals(selector)) {
        continue;
      }
      String[] rest = l.substring(end).strip().split("\\s+");
      try {
        sum += Double.parseDouble(rest[0]);
        found = true;
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
      if (exact) {
        break;
      }
    }
    return found ? sum : Double.NaN;
  }

  static double json(byte[] body, String path) {
    try {
      Object node = Json.read(body, Object.class, "metrics");
      for (String part : path.split("\\.")) {
        if (!(node instanceof Map<?, ?> map)) {
          return Double.NaN;
        }
        node = map.get(part);
      }
      return node instanceof Number n ? n.doubleValue() : Double.NaN;
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  /**
   * When the watch window rolls back.
   *
   * @param errorRateFactor error rate beyond this many times the baseline is a regression
   * @param latencyFactor latency beyond this many times the baseline is a regression
   * @param requireBoth both must regress (else either)
   * @param window how long to watch
   * @param rollBack false when the release's own policy is {@code manual}: regressions are
   *     recorded and reported, not acted on
   * @param source where the policy came from, for reports
   */
  public record Policy(double errorRateFactor, double latencyFactor, boolean requireBoth, Duration window,
      boolean rollBack, String source) {}

  /** The configuration's policy ({@code watch.policy}). */
  public Policy configuredPolicy() {
    return new Policy(config.errorRateFactor(), config.latencyFactor(), config.requireBoth(), config.window(), true,
        "watch.policy");
  }

  /** A regression verdict: null when within policy (or not comparable), else the sentence that says why not. */
  public String judge(Sample baseline, Sample now, Policy policy) {
    if (baseline == null || now == null || !baseline.complete() || !now.complete()) {
      return null;
    }
    double errorLimit = Math.max(baseline.errorRate(), config.minErrorRate()) * policy.errorRateFactor();
    double latencyLimit = Math.max(baseline.latency(), config.minLatency()) * policy.latencyFactor();
    boolean errors = now.errorRate() > errorLimit;
    boolean slow = now.latency() > latencyLimit;
    boolean bad = policy.requireBoth() ? errors && slow : errors || slow;
    if (!bad) {
      return null;
    }
    return String.format(Locale.ROOT, "error rate %.4f (limit %.4f = %.1fx baseline %.4f), latency %.4f "
            + "(limit %.4f = %.1fx baseline %.4f; policy from %s)", now.errorRate(), errorLimit,
        policy.errorRateFactor(), baseline.errorRate(), now.latency(), latencyLimit, policy.latencyFactor(),
        baseline.latency(), policy.source());
  }
}
