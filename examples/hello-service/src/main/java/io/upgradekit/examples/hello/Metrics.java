package io.upgradekit.examples.hello;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Request counters and a latency histogram, rendered as Prometheus text. */
final class Metrics {
  private static final double[] BUCKETS_SECONDS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

  private final String version;
  private final LongAdder requests = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder downstreamErrors = new LongAdder();
  private final AtomicLong inFlight = new AtomicLong();
  private final LongAdder[] buckets = new LongAdder[BUCKETS_SECONDS.length];
  private final LongAdder durationNanos = new LongAdder();

  Metrics(String version) {
    this.version = version;
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = new LongAdder();
    }
  }

  void started() {
    inFlight.incrementAndGet();
  }

  /** A request this service failed because its downstream did (counted in the errors too). */
  void downstreamFailed() {
    downstreamErrors.increment();
  }

  void finished(int status, long nanos) {
    inFlight.decrementAndGet();
    requests.increment();
    if (status >= 500) {
      errors.increment();
    }
    durationNanos.add(nanos);
    double seconds = nanos / 1e9;
    for (int i = 0; i < BUCKETS_SECONDS.length; i++) {
      if (seconds <= BUCKETS_SECONDS[i]) {
        buckets[i].increment();
      }
    }
  }

  String prometheusText() {
    StringBuilder out = new StringBuilder(1024);
    out.append("# HELP hello_requests_total Requests answered.\n# TYPE hello_requests_total counter\n")
        .append("hello_requests_total ").append(requests.sum()).append('\n');
    out.append("# HELP hello_request_errors_total Requests answered with a 5xx status.\n")
        .append("# TYPE hello_request_errors_total counter\n")
        .append("hello_request_errors_total ").append(errors.sum()).append('\n');
    out.append("# HELP hello_downstream_errors_total Requests answered 502 because the downstream failed.\n")
        .append("# TYPE hello_downstream_errors_total counter\n")
        .append("hello_downstream_errors_total ").append(downstreamErrors.sum()).append('\n');
    out.append("# HELP hello_requests_in_flight Requests being handled now.\n")
        .append("# TYPE hello_requests_in_flight gauge\n")
        .append("hello_requests_in_flight ").append(inFlight.get()).append('\n');
    out.append("# HELP hello_request_duration_seconds Time to handle a request.\n")
        .append("# TYPE hello_request_duration_seconds histogram\n");
    for (int i = 0; i < BUCKETS_SECONDS.length; i++) {
      out.append("hello_request_duration_seconds_bucket{le=\"").append(BUCKETS_SECONDS[i]).append("\"} ")
          .append(buckets[i].sum()).append('\n');
    }
    out.append("hello_request_duration_seconds_bucket{le=\"+Inf\"} ").append(requests.sum()).append('\n')
        .append("hello_request_duration_seconds_sum ")
        .append(String.format(Locale.ROOT, "%.6f", durationNanos.sum() / 1e9)).append('\n')
        .append("hello_request_duration_seconds_count ").append(requests.sum()).append('\n');
    out.append("# HELP hello_build_info The running release.\n# TYPE hello_build_info gauge\n")
        .append("hello_build_info{version=\"").append(version).append("\"} 1\n");
    return out.toString();
  }
}
