package io.upgradekit.it.bench.fleet;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * The simulator's request log: per endpoint and phase of the run, how many requests, how they were
 * answered, and every latency (microseconds, from the request handed to the HTTP client to its whole
 * answer read), so that percentiles are exact, not bucketed. Thread-safe.
 */
final class Recorder {
  /** The calls a node makes, as the tables name them. */
  enum Endpoint {
    POINTER("GET channel pointer"),
    MANIFEST("GET release manifest"),
    STATE("GET rollout state"),
    HEARTBEAT("POST /v1/heartbeats"),
    LEASE("POST /v1/leases"),
    CONFIRM("POST /v1/leases/confirm"),
    RELEASE("POST /v1/leases/release"),
    FEEDBACK("POST /v1/feedback"),
    /** Held by the server until a call or the wait's end: its latency is the wait, not the server's speed. */
    CALLS("GET /v1/calls (held)");

    final String label;

    Endpoint(String label) {
      this.label = label;
    }
  }

  /** Parts of a run whose figures are reported apart. */
  enum Phase {
    /** Nodes announce themselves and poll; nothing is measured. */
    WARMUP,
    /** The idle fleet: polls (mostly 304) and heartbeats. */
    STEADY,
    /** From the publication until every node is healthy on the new release. */
    ROLLOUT,
    /** After the rollout, until the run stops. */
    AFTER
  }

  /** One endpoint's figures in one phase. */
  record Figures(long requests, long notModified, long errors, long p50Micros, long p99Micros, long maxMicros) {}

  private static final class Log {
    long requests;
    long notModified;
    long errors;
    int[] micros = new int[1024];
    int size;

    void add(long latencyMicros, int status) {
      requests++;
      if (status == 304) {
        notModified++;
      } else if (status < 200 || status >= 400 && status != 404 && status != 409) {
        errors++; // 404 (no state yet) and 409 (lease lost) are answers of the protocol
      }
      if (size == micros.length) {
        micros = Arrays.copyOf(micros, size * 2);
      }
      micros[size++] = (int) Math.min(Integer.MAX_VALUE, latencyMicros);
    }
  }

  private final Map<Phase, Map<Endpoint, Log>> logs = new EnumMap<>(Phase.class);
  private volatile Phase phase = Phase.WARMUP;

  Recorder() {
    for (Phase p : Phase.values()) {
      Map<Endpoint, Log> m = new EnumMap<>(Endpoint.class);
      for (Endpoint e : Endpoint.values()) {
        m.put(e, new Log());
      }
      logs.put(p, m);
    }
  }

  Phase phase() {
    return phase;
  }

  void phase(Phase p) {
    phase = p;
  }

  /**
   * Records one answered request.
   *
   * @param phase the phase when it was sent
   * @param status its HTTP status, or 0 when no answer came (connection failure, timeout)
   */
  void record(Phase phase, Endpoint endpoint, long latencyNanos, int status) {
    Log log = logs.get(phase).get(endpoint);
    synchronized (log) {
      log.add(latencyNanos / 1000, status);
    }
  }

  Figures figures(Phase phase, Endpoint endpoint) {
    Log log = logs.get(phase).get(endpoint);
    synchronized (log) {
      int[] sorted = Arrays.copyOf(log.micros, log.size);
      Arrays.sort(sorted);
      return new Figures(log.requests, log.notModified, log.errors, percentile(sorted, 0.50), percentile(sorted, 0.99),
          sorted.length == 0 ? 0 : sorted[sorted.length - 1]);
    }
  }

  /** Every endpoint's requests in {@code phase}. */
  long requests(Phase phase) {
    long n = 0;
    for (Endpoint e : Endpoint.values()) {
      n += figures(phase, e).requests();
    }
    return n;
  }

  /** Nearest-rank percentile of sorted values (0 for none). */
  static long percentile(int[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
