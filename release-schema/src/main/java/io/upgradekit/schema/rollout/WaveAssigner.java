package io.upgradekit.schema.rollout;

import io.upgradekit.schema.model.RolloutPlan;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Assigns every node of a fleet to a wave, deterministically: the same fleet, plan and seed give
 * the same schedule in any process at any time, so a restarted or second repo-server, and
 * {@code upgrade:plan}'s preview, agree with what the controller did: both call this class.
 *
 * <p>The order: nodes are shuffled by the SHA-256 of {@code seed/nodeId} (stable, and no node is
 * always first), then interleaved across label groups, so consecutive nodes (and so each wave)
 * come from different zones, racks or groups. The canary wave takes the first {@link
 * RolloutPlan#canary(int)} of that order. Then:
 *
 * <ul>
 *   <li>{@code all}: one wave of everyone;
 *   <li>{@code canary}: the canary wave, then one wave of everyone else;
 *   <li>{@code batches}: the canary wave, then waves of {@code budget} nodes, where the budget is
 *       the fleet minus {@link RolloutPlan#minAvailable(int)};
 *   <li>with a {@code waveLabel} (any strategy): after the canary, one wave per value of that label
 *       (values in order; nodes without the label last), each as large as the value's nodes: the
 *       budget still bounds how many update at once.
 * </ul>
 */
public final class WaveAssigner {
  /** A node as the assigner sees it: its id and labels. */
  public record Member(String id, Map<String, String> labels) {
    public Member {
      labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
  }

  /** The schedule, or why the plan cannot hold its promise for this fleet. */
  public record Assignment(Waves schedule, String problem) {
    public boolean ok() {
      return schedule != null;
    }
  }

  /**
   * Who goes when.
   *
   * @param waves the node ids of each wave, in order; wave 0 is the canary wave when the plan has one
   * @param fleet the number of nodes the waves were computed for
   * @param minAvailable the nodes that must stay up and healthy, resolved against {@code fleet}
   * @param budget nodes that may be between STOP and healthy at once: {@code fleet - minAvailable}
   * @param canary the size of the canary wave (0 without one)
   */
  public record Waves(List<List<String>> waves, int fleet, int minAvailable, int budget, int canary) {
    public Waves {
      waves = waves.stream().map(List::copyOf).toList();
    }
  }

  private WaveAssigner() {}

  /**
   * @param seed what makes this rollout's order its own, e.g. {@code app/version}
   */
  public static Assignment assign(String seed, Collection<Member> fleet, RolloutPlan plan) {
    int n = fleet.size();
    if (n == 0) {
      return new Assignment(null, "no node of the app is known yet (nodes announce themselves with heartbeats)");
    }
    int minAvailable = plan.minAvailable(n);
    int budget = n - minAvailable;
    if (budget < 1) {
      return new Assignment(null, "minAvailable " + minAvailable + " of a fleet of " + n
          + " leaves no node free to update: lower minAvailable or add nodes");
    }
    int canary = plan.canary(n);
    if (canary > n) {
      return new Assignment(null, "the canary wave has " + canary + " nodes but the fleet has only " + n
          + ": lower the canary");
    }
    List<Member> order = interleave(shuffled(seed, fleet), plan.waveLabel());
    List<List<String>> waves = new ArrayList<>();
    if (canary > 0) {
      waves.add(ids(order.subList(0, canary)));
    }
    List<Member> rest = order.subList(canary, n);
    if (!rest.isEmpty()) {
      if (plan.waveLabel() != null) {
        byLabelValue(rest, plan.waveLabel()).values().forEach(group -> waves.add(ids(group)));
      } else if (plan.strategy() == RolloutPlan.Strategy.BATCHES) {
        for (int i = 0; i < rest.size(); i += budget) {
          waves.add(ids(rest.subList(i, Math.min(rest.size(), i + budget))));
        }
      } else {
        waves.add(ids(rest));
      }
    }
    return new Assignment(new Waves(waves, n, minAvailable, budget, canary), null);
  }

  private static List<Member> shuffled(String seed, Collection<Member> fleet) {
    Map<Member, String> keys = new LinkedHashMap<>();
    for (Member m : fleet) {
      keys.put(m, hash(seed + "/" + m.id()));
    }
    List<Member> order = new ArrayList<>(fleet);
    order.sort(Comparator.comparing((Member m) -> keys.get(m)).thenComparing(Member::id));
    return order;
  }

  /**
   * Round-robin over label groups (by {@code waveLabel}'s value, else by the whole label set), the
   * groups taken in the order of their first member, so that consecutive nodes differ in labels.
   */
  private static List<Member> interleave(List<Member> order, String waveLabel) {
    Map<String, Deque<Member>> groups = new LinkedHashMap<>();
    for (Member m : order) {
      String key = waveLabel != null ? String.valueOf(m.labels().get(waveLabel)) : new TreeMap<>(m.labels()).toString();
      groups.computeIfAbsent(key, k -> new ArrayDeque<>()).add(m);
    }
    List<Member> out = new ArrayList<>(order.size());
    while (out.size() < order.size()) {
      for (Deque<Member> group : groups.values()) {
        Member next = group.poll();
        if (next != null) {
          out.add(next);
        }
      }
    }
    return out;
  }

  /** Groups by the label's value, values in order, nodes without the label last; order kept inside. */
  private static Map<String, List<Member>> byLabelValue(List<Member> members, String label) {
    SortedMap<String, List<Member>> byValue = new TreeMap<>();
    List<Member> unlabelled = new ArrayList<>();
    for (Member m : members) {
      String value = m.labels().get(label);
      if (value == null) {
        unlabelled.add(m);
      } else {
        byValue.computeIfAbsent(value, v -> new ArrayList<>()).add(m);
      }
    }
    Map<String, List<Member>> out = new LinkedHashMap<>(byValue);
    if (!unlabelled.isEmpty()) {
      out.put("", unlabelled); // "" sorts first in a TreeMap; kept out of it to come last
    }
    return out;
  }

  private static List<String> ids(List<Member> members) {
    return members.stream().map(Member::id).toList();
  }

  private static String hash(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
