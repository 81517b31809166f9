package io.upgradekit.it.load;

/**
 * One request of a load run. Times are nanoseconds from the run's start.
 *
 * @param target index of the target in the run's list
 * @param scheduledNanos when the fixed-rate schedule wanted it sent
 * @param startNanos when it was actually sent (connect began); later than scheduled when the
 *     client fell behind
 * @param endNanos when it completed or failed
 * @param status the HTTP status, or 0 when no complete response arrived
 * @param failure null for a 2xx response; else what went wrong: {@code refused} (connection
 *     refused), {@code reset} (connection reset), {@code connect-timeout}, {@code timeout} (no complete
 *     response in time), {@code closed} (connection closed before a complete response), {@code
 *     http-<status>} (a non-2xx answer), {@code error} (anything else)
 * @param version the {@code X-Version} header of the answer, or null
 */
public record Sample(int target, long scheduledNanos, long startNanos, long endNanos, int status, String failure,
    String version) {

  public boolean ok() {
    return failure == null;
  }

  /** From sending to the end of the answer (or the failure). */
  public long latencyNanos() {
    return endNanos - startNanos;
  }
}
