package io.upgradekit.server.rollout;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Who goes when: the waves of one rollout, fixed when it starts (DESIGN section 7, "Waves"). Wave 0
 * is the canary wave when the plan has one. A node that was not known at the start belongs to the
 * last wave.
 *
 * <p>Immutable.
 */
public final class Schedule {
  private final List<List<String>> waves;
  private final int fleet;
  private final int minAvailable;
  private final int budget;
  private final int canary;
  private final Map<String, Integer> index = new HashMap<>();

  /**
   * @param waves the node ids of each wave, in order; no empty wave
   * @param fleet the number of nodes the schedule was computed for
   * @param minAvailable the nodes that must stay up and healthy, resolved against {@code fleet}
   * @param budget nodes that may be between STOP and healthy at once: {@code fleet - minAvailable}
   * @param canary the size of the canary wave (0 without one)
   */
  public Schedule(List<List<String>> waves, int fleet, int minAvailable, int budget, int canary) {
    this.waves = waves.stream().map(List::copyOf).toList();
    if (this.waves.isEmpty() || this.waves.stream().anyMatch(List::isEmpty)) {
      throw new IllegalArgumentException("a schedule has at least one wave and no empty wave");
    }
    if (budget < 1) {
      throw new IllegalArgumentException("a schedule's budget is at least 1");
    }
    this.fleet = fleet;
    this.minAvailable = minAvailable;
    this.budget = budget;
    this.canary = canary;
    for (int w = 0; w < this.waves.size(); w++) {
      for (String node : this.waves.get(w)) {
        if (index.put(node, w) != null) {
          throw new IllegalArgumentException("node " + node + " is in two waves");
        }
      }
    }
  }

  public List<List<String>> waves() {
    return waves;
  }

  public int fleet() {
    return fleet;
  }

  public int minAvailable() {
    return minAvailable;
  }

  public int budget() {
    return budget;
  }

  public int canary() {
    return canary;
  }

  /** The number of waves. */
  public int size() {
    return waves.size();
  }

  /** The index of {@code node}'s wave; nodes seen after the start join the last wave. */
  public int waveOf(String node) {
    Integer wave = index.get(Objects.requireNonNull(node, "node"));
    return wave == null ? waves.size() - 1 : wave;
  }

  /** Whether {@code node} was assigned at the start (else it joined the last wave later). */
  public boolean assigned(String node) {
    return index.containsKey(node);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Schedule s && s.waves.equals(waves) && s.fleet == fleet && s.minAvailable == minAvailable
        && s.budget == budget && s.canary == canary;
  }

  @Override
  public int hashCode() {
    return Objects.hash(waves, fleet, minAvailable, budget, canary);
  }

  @Override
  public String toString() {
    return "Schedule[" + waves.size() + " waves, fleet " + fleet + ", budget " + budget + ", canary " + canary + "]";
  }
}
