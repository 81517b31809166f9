package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The live state of one release set's rollout (DESIGN section 7b), signed by the rollout role like
 * a single release's {@link RolloutState}, short-lived and re-signed while the set lives ({@code
 * sets/<name>/rollout/<version>.json}). It says where each component is, and how the fleet of every
 * app that the set's compatibility contracts require stands, so that a node checks a contract on
 * signed facts: a node of {@code api 2.1} bound by {@code api 2.x requires cache >= 2.0} installs
 * only when this state, verified and fresh, counts no cache node outside {@code >= 2.0}. Stale or
 * missing state means "wait", never "proceed".
 *
 * @param type always {@code "set-state"}
 * @param name the set
 * @param version the set's version
 * @param sequence increases with every change; nodes refuse a lower one
 * @param expires short; after it nodes wait
 * @param status where the set is
 * @param paused an operator paused the set (no component starts; rolling ones are paused)
 * @param components each component of the set, in the set's dependency order
 * @param fleet per app that a contract of the set requires: how many of its nodes run which version
 *     (absent when the set has no contracts)
 * @param decision the sequence of the set decision this state reflects, or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SetState(String type, String name, String version, long sequence, Instant expires, Status status,
    boolean paused, List<Component> components, @JsonInclude(JsonInclude.Include.NON_EMPTY) List<AppFleet> fleet,
    Long decision) implements SignedDocument {
  /** Distinct versions listed per app at most; nodes beyond them count as running none of the listed. */
  public static final int MAX_VERSIONS = 64;

  /** Where a set is. */
  public enum Status {
    /** Components roll out in dependency order. */
    @JsonProperty("running")
    RUNNING,
    /** A failure under {@code rollback_policy: manual}, or an operator's halt: nothing starts or proceeds. */
    @JsonProperty("halted")
    HALTED,
    /** The components rolled go back, top-down. */
    @JsonProperty("recalling")
    RECALLING,
    /** Every component the set rolled is back (end). */
    @JsonProperty("recalled")
    RECALLED,
    /** Every component completed healthy (end). */
    @JsonProperty("complete")
    COMPLETE
  }

  /** Where one component is. */
  public enum ComponentStatus {
    /** Not started: it waits for the components in {@code waitingFor}, or for the set (paused, halted). */
    @JsonProperty("waiting")
    WAITING,
    /** The set lets it start; its own rollout has not started yet. */
    @JsonProperty("starting")
    STARTING,
    /** Its own rollout cannot start for its fleet (its rollout says why). */
    @JsonProperty("blocked")
    BLOCKED,
    /** Its rollout runs. */
    @JsonProperty("rolling")
    ROLLING,
    /** Its rollout is paused. */
    @JsonProperty("paused")
    PAUSED,
    /** Its rollout completed healthy. */
    @JsonProperty("complete")
    COMPLETE,
    /** Its rollout is halted. */
    @JsonProperty("halted")
    HALTED,
    /** Its nodes switch back. */
    @JsonProperty("recalling")
    RECALLING,
    /** Its nodes are back. */
    @JsonProperty("recalled")
    RECALLED
  }

  /**
   * One component.
   *
   * @param waitingFor the components it still waits for (absent when none)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Component(String app, String version, ComponentStatus status,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> waitingFor) {
    public Component {
      Names.requireApp(app);
      Names.requireVersion(version);
      Checks.required(status, "status");
      waitingFor = waitingFor == null ? List.of() : List.copyOf(waitingFor);
      if (waitingFor.size() > ReleaseSet.MAX_COMPONENTS) {
        throw Checks.malformed("a component waits for at most " + ReleaseSet.MAX_COMPONENTS + " components");
      }
      waitingFor.forEach(Names::requireApp);
    }
  }

  /**
   * The fleet of one app as the server's inventory knows it: its available nodes on any channel.
   *
   * @param nodes available nodes of the app
   * @param versions nodes per version they run (at most {@value #MAX_VERSIONS} versions; nodes not
   *     counted here run another version, none, or are switching between two)
   */
  public record AppFleet(String app, int nodes, Map<String, Integer> versions) {
    public AppFleet {
      Names.requireApp(app);
      Checks.nonNegative(nodes, "nodes");
      versions = Map.copyOf(Checks.required(versions, "versions"));
      if (versions.size() > MAX_VERSIONS) {
        throw Checks.malformed("an app's fleet lists at most " + MAX_VERSIONS + " versions");
      }
      long counted = 0;
      for (Map.Entry<String, Integer> e : versions.entrySet()) {
        Names.requireVersion(e.getKey());
        counted += Checks.positive(Checks.required(e.getValue(), "nodes of a version"), "nodes of a version");
      }
      if (counted > nodes) {
        throw Checks.malformed("the versions of " + app + " count " + counted + " nodes, more than its " + nodes);
      }
    }

    /** Nodes that run a version {@code contract} does not accept (or a version not listed). */
    public int outside(ReleaseSet.Contract contract) {
      int inside = 0;
      for (Map.Entry<String, Integer> e : versions.entrySet()) {
        if (contract.servedBy(e.getKey())) {
          inside += e.getValue();
        }
      }
      return nodes - inside;
    }

    /**
     * Why {@code contract} is not met by this fleet, in the words nodes and operators see ({@code
     * waiting for cache >= 2.0: 1 of 2 cache nodes run 1.4}), or null when every node runs a version
     * inside its range. A fleet of no node does not meet a contract: nothing is known to serve it.
     */
    public String unmet(ReleaseSet.Contract contract) {
      String waiting = "waiting for " + contract.requires() + " " + contract.range() + ": ";
      if (nodes == 0) {
        return waiting + "no available " + contract.requires() + " node is known";
      }
      int outside = outside(contract);
      if (outside == 0) {
        return null;
      }
      java.util.List<String> versionsOutside = new java.util.ArrayList<>(new java.util.TreeSet<>(
          versions.keySet().stream().filter(v -> !contract.servedBy(v)).toList()));
      int listed = versions.entrySet().stream().filter(e -> !contract.servedBy(e.getKey()))
          .mapToInt(Map.Entry::getValue).sum();
      if (versionsOutside.size() > 5) {
        versionsOutside = new java.util.ArrayList<>(versionsOutside.subList(0, 5));
        versionsOutside.add("...");
      }
      if (listed < outside) {
        versionsOutside.add("other versions or are switching");
      }
      return waiting + outside + " of " + nodes + " " + contract.requires() + " nodes run "
          + String.join(", ", versionsOutside);
    }
  }

  public SetState {
    Checks.type(type, DocumentType.SET_STATE);
    Names.requireSetName(name);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(expires, "expires");
    Checks.required(status, "status");
    components = List.copyOf(Checks.required(components, "components"));
    if (components.isEmpty() || components.size() > ReleaseSet.MAX_COMPONENTS) {
      throw Checks.malformed("a set state lists 1 to " + ReleaseSet.MAX_COMPONENTS + " components");
    }
    Set<String> seen = new HashSet<>();
    for (Component c : components) {
      if (!seen.add(c.app())) {
        throw Checks.malformed("the set state lists component " + c.app() + " twice");
      }
    }
    fleet = fleet == null ? List.of() : List.copyOf(fleet);
    if (fleet.size() > ReleaseSet.MAX_CONTRACTS) {
      throw Checks.malformed("a set state lists the fleet of at most " + ReleaseSet.MAX_CONTRACTS + " apps");
    }
    Set<String> apps = new HashSet<>();
    for (AppFleet f : fleet) {
      if (!apps.add(f.app())) {
        throw Checks.malformed("the set state lists the fleet of " + f.app() + " twice");
      }
    }
    if (decision != null) {
      Checks.positive(decision, "decision");
    }
  }

  /** The component of {@code app}, or null. */
  public Component component(String app) {
    for (Component c : components) {
      if (c.app().equals(app)) {
        return c;
      }
    }
    return null;
  }

  /** The fleet of {@code app}, or null if the state does not count it. */
  public AppFleet fleetOf(String app) {
    for (AppFleet f : fleet) {
      if (f.app().equals(app)) {
        return f;
      }
    }
    return null;
  }

  @Override
  public long serial() {
    return sequence;
  }
}
