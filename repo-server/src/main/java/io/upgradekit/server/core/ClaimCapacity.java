package io.upgradekit.server.core;

import java.util.Map;

/**
 * How many slots a claim scope has: a default, and overrides by scope name (e.g. {@code canary=1},
 * {@code wave-1=10}).
 *
 * @param defaultCapacity slots of every scope without an override, at least 1
 * @param byScope overrides by scope name
 */
public record ClaimCapacity(int defaultCapacity, Map<String, Integer> byScope) {
  /** Upper bound for any scope: claim numbers are file names scanned in order. */
  public static final int MAX = 1_000_000;

  public ClaimCapacity {
    byScope = Map.copyOf(byScope);
    check(defaultCapacity, "the default claim capacity");
    byScope.forEach((scope, n) -> check(n, "the capacity of scope " + scope));
  }

  private static void check(int n, String what) {
    if (n < 1 || n > MAX) {
      throw new IllegalArgumentException(what + " must be between 1 and " + MAX + ", was " + n);
    }
  }

  public int of(String scope) {
    return byScope.getOrDefault(scope, defaultCapacity);
  }
}
