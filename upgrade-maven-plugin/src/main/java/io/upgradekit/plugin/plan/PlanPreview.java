package io.upgradekit.plugin.plan;

import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.SetGraph;
import io.upgradekit.schema.model.SetRules;
import io.upgradekit.schema.rollout.WaveAssigner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The preview itself, pure: from the components' plans and the fleet, what the rollout would do. The
 * waves come from release-schema's {@link WaveAssigner}, the code repo-server's controller runs, with
 * the same seed ({@code app/version}), so the preview shows the waves the controller would assign
 * to the same fleet.
 *
 * <p>Durations: a wave takes {@code ceil(nodes / slots)} rounds of one node update each (the time
 * given, {@code nodeTime}), then the plan's bake time; a component takes the sum of its waves. In a
 * set, a component starts when the components it depends on are done ({@code rolling}) or when the
 * one before it in the order is ({@code sequential}); the set takes until its last component is
 * done. Manual approvals and the server's start delay come on top.
 */
public final class PlanPreview {
  /**
   * A component to preview.
   *
   * @param plan its rollout plan, or null when it has none ({@code missing} says why)
   * @param source {@code published} or {@code pom}, or null without a plan
   * @param missing the problem when there is no plan (code and sentence), or null
   */
  public record Component(String app, String version, List<String> dependsOn, RolloutPlan plan, String source,
      Preview.Problem missing) {
    public Component {
      dependsOn = List.copyOf(dependsOn);
    }
  }

  /**
   * What to preview.
   *
   * @param set the set, or null to preview one release (the one component)
   * @param components the components (one for a release)
   * @param channel the channel whose nodes follow the releases
   * @param fleet the live fleet, every app
   * @param nodeTime the time one node's update takes, for the durations
   */
  public record Input(SetInfo set, List<Component> components, String channel, List<FleetInventory.Node> fleet,
      Duration nodeTime) {
    public Input {
      components = List.copyOf(components);
      fleet = List.copyOf(fleet);
      Objects.requireNonNull(channel, "channel");
      Objects.requireNonNull(nodeTime, "nodeTime");
    }
  }

  /** A set's own settings. */
  public record SetInfo(String name, String version, ReleaseSet.Strategy strategy, ReleaseSet.Rollback rollback,
      List<ReleaseSet.Contract> contracts) {
    public SetInfo {
      contracts = List.copyOf(contracts);
    }
  }

  private PlanPreview() {}

  public static Preview preview(Input in) {
    List<Preview.Problem> problems = new ArrayList<>();
    long nodeSeconds = Math.max(1, in.nodeTime().toSeconds());
    List<ReleaseSet.Component> asSet = in.components().stream()
        .map(c -> new ReleaseSet.Component(c.app(), c.version(), c.dependsOn())).toList();
    List<SetRules.Problem> rules = in.set() == null ? List.of() : SetRules.check(asSet, in.set().contracts());
    rules.forEach(p -> problems.add(new Preview.Problem(p.code().name(), null, p.message())));
    boolean ordered = rules.stream().noneMatch(p -> p.code() == ErrorCode.SET_CYCLE
        || p.code() == ErrorCode.SET_UNKNOWN_COMPONENT || p.code() == ErrorCode.SET_DUPLICATE_COMPONENT
        || p.code() == ErrorCode.SET_TOO_LARGE || p.code() == ErrorCode.METADATA_MALFORMED);
    SetGraph graph = ordered ? SetGraph.of(asSet) : null;

    Map<String, Preview.Component> previews = new LinkedHashMap<>();
    for (Component c : in.components()) {
      if (!previews.containsKey(c.app())) {
        previews.put(c.app(), component(c, in, nodeSeconds, problems));
      }
    }
    long total = 0;
    if (graph != null) {
      Map<String, Long> finish = new HashMap<>();
      long previous = 0;
      for (String app : graph.order()) {
        Preview.Component p = previews.get(app);
        long start = 0;
        if (in.set() != null && in.set().strategy() == ReleaseSet.Strategy.SEQUENTIAL) {
          start = previous;
        } else {
          for (String d : graph.dependencies(app)) {
            start = Math.max(start, finish.get(d));
          }
        }
        long end = start + p.expectedSeconds();
        finish.put(app, end);
        previous = end;
        total = Math.max(total, end);
        previews.put(app, withStart(p, start));
      }
    }
    if (in.set() != null) {
      contractsAgainstTheFleet(in, problems);
    }
    boolean runnable = graph != null && previews.values().stream().allMatch(p -> !p.waves().isEmpty());
    return new Preview(in.set() == null ? "release" : "set",
        in.set() == null ? in.components().get(0).app() : in.set().name(),
        in.set() == null ? in.components().get(0).version() : in.set().version(), in.channel(),
        in.set() == null ? null : in.set().strategy().wire(), in.set() == null ? null : in.set().rollback().wire(),
        nodeSeconds, graph == null ? List.of() : graph.steps(), List.copyOf(previews.values()), runnable ? total : 0,
        problems);
  }

  private static Preview.Component component(Component c, Input in, long nodeSeconds, List<Preview.Problem> problems) {
    if (c.plan() == null) {
      problems.add(c.missing());
      return new Preview.Component(c.app(), c.version(), c.dependsOn(), null, null, null, null, null, null, null,
          List.of(), false, 0, 0);
    }
    RolloutPlan plan = c.plan();
    List<FleetInventory.Node> nodes = in.fleet().stream()
        .filter(n -> n.app().equals(c.app()) && n.channel().equals(in.channel())).toList();
    Map<String, FleetInventory.Node> byId = new HashMap<>();
    nodes.forEach(n -> byId.put(n.id(), n));
    List<WaveAssigner.Member> members = nodes.stream().map(n -> new WaveAssigner.Member(n.id(), n.labels())).toList();
    WaveAssigner.Assignment assignment = WaveAssigner.assign(c.app() + "/" + c.version(), members, plan);
    String described = RolloutSettings.describe(plan);
    if (!assignment.ok()) {
      problems.add(new Preview.Problem(ErrorCode.CONFIG_INVALID.name(), c.app(), c.app() + " " + c.version()
          + " would not start on channel " + in.channel() + ": " + assignment.problem()
          + " (the server holds such a rollout as blocked until the fleet allows it)"));
      return new Preview.Component(c.app(), c.version(), c.dependsOn(), described, c.source(), nodes.size(), null,
          null, null, null, List.of(), plan.manualApproval(), 0, 0);
    }
    WaveAssigner.Waves waves = assignment.schedule();
    int down = (int) nodes.stream().filter(n -> !n.healthy()).count();
    int slots = waves.budget() - down;
    if (slots < 1) {
      problems.add(new Preview.Problem(ErrorCode.SCOPE_FULL.name(), c.app(), c.app() + ": " + down + " of its "
          + nodes.size() + " nodes are down or unhealthy now and use up the whole budget of " + waves.budget()
          + " (minAvailable " + waves.minAvailable() + "): no node could start until they are back. Bring them"
          + " back, or release with a lower <minAvailable>"));
    }
    List<Preview.Wave> out = new ArrayList<>();
    long seconds = 0;
    for (int w = 0; w < waves.waves().size(); w++) {
      List<String> ids = waves.waves().get(w);
      int waveSlots = Math.max(1, Math.min(ids.size(), slots));
      long rounds = (ids.size() + waveSlots - 1) / waveSlots;
      long waveSeconds = rounds * nodeSeconds + plan.bakeSecondsOrDefault();
      seconds += waveSeconds;
      String name = w == 0 && waves.canary() > 0 ? "the canary wave" : "wave " + (w + 1) + " of " + waves.waves().size();
      out.add(new Preview.Wave(w, name, ids.stream().map(id -> new Preview.Node(id, byId.get(id).version(),
          byId.get(id).available())).toList(), slots < 1 ? 0 : waveSlots, waveSeconds));
    }
    return new Preview.Component(c.app(), c.version(), c.dependsOn(), described, c.source(), waves.fleet(), down,
        waves.minAvailable(), waves.budget(), waves.canary(), out, plan.manualApproval(), 0, seconds);
  }

  private static Preview.Component withStart(Preview.Component p, long start) {
    return new Preview.Component(p.app(), p.version(), p.dependsOn(), p.plan(), p.source(), p.fleet(),
        p.unavailable(), p.minAvailable(), p.budget(), p.canary(), p.waves(), p.manualApproval(), start,
        p.expectedSeconds());
  }

  /**
   * A contract on an app the set does not upgrade can only be met by the fleet as it is: every node
   * of that app must run a version inside the range, or the bound component waits at GATE for ever.
   */
  private static void contractsAgainstTheFleet(Input in, List<Preview.Problem> problems) {
    Map<String, String> versions = new HashMap<>();
    in.components().forEach(c -> versions.put(c.app(), c.version()));
    for (ReleaseSet.Contract contract : in.set().contracts()) {
      String bound = versions.get(contract.app());
      if (bound == null || versions.containsKey(contract.requires()) || !contract.binds(bound)) {
        continue;
      }
      List<FleetInventory.Node> required = in.fleet().stream().filter(n -> n.app().equals(contract.requires()))
          .toList();
      if (required.isEmpty()) {
        problems.add(new Preview.Problem(ErrorCode.CONTRACT_UNMET.name(), contract.app(), "the contract '" + contract
            + "' cannot be checked: no node of " + contract.requires() + " is known, and the set does not upgrade it;"
            + " " + contract.app() + "'s nodes would wait at GATE until " + contract.requires() + "'s nodes announce a"
            + " version inside '" + contract.range() + "'"));
        continue;
      }
      List<String> outside = required.stream().filter(n -> n.version() == null || !contract.servedBy(n.version()))
          .map(n -> n.id() + " (" + (n.version() == null ? "no version" : n.version()) + ")").toList();
      if (!outside.isEmpty()) {
        problems.add(new Preview.Problem(ErrorCode.CONTRACT_UNMET.name(), contract.app(), "the contract '" + contract
            + "' is not met by the fleet, and the set does not upgrade " + contract.requires() + ": "
            + String.join(", ", outside.stream().limit(10).toList()) + (outside.size() > 10 ? ", ... ("
            + outside.size() + " nodes)" : "") + " run versions outside '" + contract.range() + "'. "
            + contract.app() + "'s nodes would wait at GATE until they do: add " + contract.requires() + " to the set,"
            + " upgrade it first, or correct the contract"));
      }
    }
  }
}
