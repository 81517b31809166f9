package io.upgradekit.server.rollout;

import io.upgradekit.schema.model.RolloutPlan;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Assigns every node of a fleet to a wave, deterministically, with release-schema's {@link
 * io.upgradekit.schema.rollout.WaveAssigner} (where the order and the rules are documented), so the
 * controller's schedule and {@code upgrade:plan}'s preview come from one piece of code. This class
 * only turns its answer into the controller's {@link Schedule}.
 */
public final class WaveAssigner {
  /** A node as the assigner sees it: its id and labels. */
  public record Member(String id, Map<String, String> labels) {
    public Member {
      labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
  }

  /** The schedule, or why the plan cannot hold its promise for this fleet. */
  public record Assignment(Schedule schedule, String problem) {
    public boolean ok() {
      return schedule != null;
    }
  }

  private WaveAssigner() {}

  /**
   * @param seed what makes this rollout's order its own, e.g. {@code app/version}
   */
  public static Assignment assign(String seed, Collection<Member> fleet, RolloutPlan plan) {
    List<io.upgradekit.schema.rollout.WaveAssigner.Member> members = new ArrayList<>(fleet.size());
    for (Member m : fleet) {
      members.add(new io.upgradekit.schema.rollout.WaveAssigner.Member(m.id(), m.labels()));
    }
    io.upgradekit.schema.rollout.WaveAssigner.Assignment a =
        io.upgradekit.schema.rollout.WaveAssigner.assign(seed, members, plan);
    if (!a.ok()) {
      return new Assignment(null, a.problem());
    }
    io.upgradekit.schema.rollout.WaveAssigner.Waves w = a.schedule();
    return new Assignment(new Schedule(w.waves(), w.fleet(), w.minAvailable(), w.budget(), w.canary()), null);
  }
}
