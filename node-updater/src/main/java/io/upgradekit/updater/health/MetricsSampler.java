package io.upgradekit.updater.health;

import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.config.UpdaterConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Samples the service's error rate and latency from its metrics endpoint: Prometheus text
 * ({@code name} or {@code name{label="v"}}, first matching sample) or JSON (a dot path to a
 * number). Reads at most {@value #MAX_BYTES} bytes.
 */
public final class MetricsSampler {
  static final int MAX_BYTES = 4 * 1024 * 1024;

  /** One sample; a value is NaN when the metric was absent. */
  public record Sample(double errorRate, double latency) {
    public boolean complete() {
      return !Double.isNaN(errorRate) && !Double.isNaN(latency);
    }
  }

  private final UpdaterConfig.Watch config;
  private final HttpClient http;

  public MetricsSampler(UpdaterConfig.Watch config) {
    this.config = config;
    this.http = io.upgradekit.updater.download.SharedHttp.client();
  }

  /** Takes one sample; null when the endpoint cannot be read. */
  public Sample sample() {
    try {
      HttpResponse<InputStream> response = http.sendAsync(
              HttpRequest.newBuilder(config.metricsUrl()).timeout(java.time.Duration.ofSeconds(5)).GET().build(),
              HttpResponse.BodyHandlers.ofInputStream())
          .get(10, TimeUnit.SECONDS);
      byte[] body;
      try (InputStream in = response.body()) {
        body = readCapped(in);
      }
      if (response.statusCode() != 200 || body == null) {
        return null;
      }
      String text = new String(body, StandardCharsets.UTF_8);
      return config.format() == UpdaterConfig.MetricsFormat.JSON
          ? new Sample(json(body, config.errorRate()), json(body, config.latency()))
          : new Sample(prometheus(text, config.errorRate()), prometheus(text, config.latency()));
    } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static byte[] readCapped(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    for (int n; (n = in.read(buffer)) > 0; ) {
      if (out.size() + n > MAX_BYTES) {
        return null;
      }
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  /** The first sample of {@code selector} (a metric name, optionally with its exact label set). */
  static double prometheus(String text, String selector) {
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      int split = l.indexOf('}') >= 0 ? l.indexOf('}') + 1 : l.indexOf(' ');
      if (split <= 0 || split >= l.length()) {
        continue;
      }
      String name = l.substring(0, split).strip();
      boolean matches = selector.contains("{") ? name.equals(selector)
          : name.equals(selector) || name.startsWith(selector + "{");
      if (matches) {
        String[] rest = l.substring(split).strip().split("\\s+");
        try {
          return Double.parseDouble(rest[0]);
        } catch (NumberFormatException e) {
          return Double.NaN;
        }
      }
    }
    return Double.NaN;
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

  /** A regression verdict: null when within policy, else the sentence that says why not. */
  public String judge(Sample baseline, Sample now) {
    if (baseline == null || now == null || !baseline.complete() || !now.complete()) {
      return null;
    }
    double errorLimit = Math.max(baseline.errorRate(), config.minErrorRate()) * config.errorRateFactor();
    double latencyLimit = Math.max(baseline.latency(), config.minLatency()) * config.latencyFactor();
    boolean errors = now.errorRate() > errorLimit;
    boolean slow = now.latency() > latencyLimit;
    boolean bad = config.requireBoth() ? errors && slow : errors || slow;
    if (!bad) {
      return null;
    }
    return String.format(java.util.Locale.ROOT, "error rate %.4f (limit %.4f = %.1fx baseline %.4f), latency %.4f "
            + "(limit %.4f = %.1fx baseline %.4f)", now.errorRate(), errorLimit, config.errorRateFactor(),
        baseline.errorRate(), now.latency(), latencyLimit, config.latencyFactor(), baseline.latency());
  }
}
