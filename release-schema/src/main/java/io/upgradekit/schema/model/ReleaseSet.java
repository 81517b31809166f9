package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.time.Instant;
import java.util.List;

/**
 * A release set (DESIGN section 7b): several components of one system, each an app at one version
 * with its own nodes and its own rollout plan (in its release manifest), upgraded in dependency
 * order. Signed by the release role, immutable once published ({@code sets/<name>/<version>.json}).
 *
 * <p>The rules, checked whenever a set is built or read ({@link SetRules}): every {@code depends_on}
 * names a listed component, no component is listed twice, the dependencies form no cycle, and every
 * compatibility contract is about a listed component and can be met by the set (the component it
 * requires, when the set upgrades it too, is at a version inside the range and ordered first). Sizes
 * are bounded: {@value #MAX_COMPONENTS} components, {@value Component#MAX_DEPENDENCIES} dependencies
 * each, {@value #MAX_CONTRACTS} contracts. A set that breaks a rule cannot be constructed: the
 * typed code ({@code SET_CYCLE}, {@code SET_UNKNOWN_COMPONENT}, {@code SET_DUPLICATE_COMPONENT},
 * {@code SET_TOO_LARGE}, {@code CONTRACT_INVALID}) names the problem and the fix.
 *
 * <p>The multi-word members are written as the set's descriptor writes them ({@code depends_on},
 * {@code rollback_policy}), so the signed document reads like the file it came from.
 *
 * @param type always {@code "release-set"}
 * @param name the set (a system, e.g. {@code shop}): {@link Names#LOWERCASE_NAME_PATTERN}
 * @param version the set's version
 * @param sequence grows with every set of this name (the plugin uses the build time in seconds)
 * @param created when it was built
 * @param expires after this instant readers refuse it
 * @param components the components, in the order they were listed
 * @param strategy how components follow each other
 * @param rollbackPolicy what a failure does to the rest of the set
 * @param contracts compatibility contracts (none: empty, and absent in JSON)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ReleaseSet(
    String type,
    String name,
    String version,
    long sequence,
    Instant created,
    Instant expires,
    List<Component> components,
    Strategy strategy,
    @JsonProperty("rollback_policy") Rollback rollbackPolicy,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Contract> contracts) implements SignedDocument {
  /** Components a set lists at most: one system's services, not a whole company's. */
  public static final int MAX_COMPONENTS = 256;
  /** Compatibility contracts a set carries at most. */
  public static final int MAX_CONTRACTS = 256;

  /** How components follow each other. */
  public enum Strategy {
    /**
     * A component's rollout starts when every component it depends on completed healthy;
     * components that do not depend on each other roll out in parallel.
     */
    @JsonProperty("rolling")
    ROLLING,
    /** One component at a time, in dependency order (ties in the order they are listed). */
    @JsonProperty("sequential")
    SEQUENTIAL;

    /** The name as written in descriptors and documents. */
    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** What a failed component does to the rest of the set. */
  public enum Rollback {
    /**
     * The set halts (no further component starts) and the components already rolled (or rolling)
     * are recalled in reverse dependency order, each within its own availability budget.
     */
    @JsonProperty("auto")
    AUTO,
    /** The set halts; an operator decides (recall, retry, resume). */
    @JsonProperty("manual")
    MANUAL;

    /** The name as written in descriptors and documents. */
    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One component: an app at one version.
   *
   * @param app the app (its releases are {@code apps/<app>/releases/<version>})
   * @param version the release of it the set installs
   * @param dependsOn components whose rollouts must complete healthy before this one starts
   */
  public record Component(String app, String version, @JsonProperty("depends_on") List<String> dependsOn) {
    /** Dependencies one component lists at most. */
    public static final int MAX_DEPENDENCIES = 64;

    public Component {
      Names.requireApp(app);
      Names.requireVersion(version);
      dependsOn = dependsOn == null ? List.of() : List.copyOf(dependsOn);
      if (dependsOn.size() > MAX_DEPENDENCIES) {
        throw new UpgradeException(ErrorCode.SET_TOO_LARGE, "component '" + app + "' depends on " + dependsOn.size()
            + " components, more than " + MAX_DEPENDENCIES + ": group them behind fewer components, or split the set");
      }
      dependsOn.forEach(Names::requireApp);
    }
  }

  /**
   * A compatibility contract: {@code <app> <versions> requires <requires> <range>}, e.g. {@code api
   * 2.x requires cache >= 2.0}: a node does not start {@code app} at a version inside {@code
   * versions} while a node of {@code requires} runs a version outside {@code range}.
   *
   * @param app the component the contract binds (listed in the set)
   * @param versions the versions of {@code app} it binds ({@link VersionRange}, canonical text)
   * @param requires the app it needs (in the set, or already running in the fleet)
   * @param range the versions of {@code requires} that serve it ({@link VersionRange}, canonical text)
   */
  public record Contract(String app, String versions, String requires, String range) {
    public Contract {
      Names.requireApp(app);
      Names.requireApp(requires);
      versions = VersionRange.parse(versions).toString();
      range = VersionRange.parse(range).toString();
      if (app.equals(requires)) {
        throw new UpgradeException(ErrorCode.CONTRACT_INVALID, "the contract '" + app + " " + versions + " requires "
            + requires + " " + range + "' binds a component to itself: name the component it needs");
      }
      if (VersionRange.parse(range).empty()) {
        throw new UpgradeException(ErrorCode.CONTRACT_INVALID, "the contract '" + app + " " + versions + " requires "
            + requires + " " + range + "' can never be met: no version is inside '" + range + "'; fix the bounds");
      }
    }

    /** Parses the descriptor's form, {@code api 2.x requires cache >= 2.0}. */
    public static Contract parse(String text) {
      if (text == null || text.length() > 2 * VersionRange.MAX_LENGTH + 2 * 64) {
        throw new UpgradeException(ErrorCode.CONTRACT_INVALID, "a contract is missing or too long; write it as"
            + " '<component> <versions> requires <component> <range>', e.g. 'api 2.x requires cache >= 2.0'");
      }
      String[] halves = text.strip().split("\\s+requires\\s+", -1);
      if (halves.length != 2) {
        throw new UpgradeException(ErrorCode.CONTRACT_INVALID, "contract " + Names.quote(text) + " is not"
            + " '<component> <versions> requires <component> <range>', e.g. 'api 2.x requires cache >= 2.0'");
      }
      String[] left = halves[0].strip().split("\\s+", 2);
      String[] right = halves[1].strip().split("\\s+", 2);
      if (left.length != 2 || right.length != 2) {
        throw new UpgradeException(ErrorCode.CONTRACT_INVALID, "contract " + Names.quote(text) + " needs a component"
            + " and a version range on each side of 'requires', e.g. 'api 2.x requires cache >= 2.0'");
      }
      return new Contract(left[0], left[1], right[0], right[1]);
    }

    /** Whether the contract binds {@code version} of its app. */
    public boolean binds(String version) {
      return VersionRange.parse(versions).contains(version);
    }

    /** Whether {@code version} of the required app serves it. */
    public boolean servedBy(String version) {
      return VersionRange.parse(range).contains(version);
    }

    @Override
    public String toString() {
      return app + " " + versions + " requires " + requires + " " + range;
    }
  }

  public ReleaseSet {
    Checks.type(type, DocumentType.RELEASE_SET);
    Names.requireSetName(name);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(created, "created");
    Checks.required(expires, "expires");
    Checks.required(components, "components");
    Checks.required(strategy, "strategy");
    Checks.required(rollbackPolicy, "rollback_policy");
    components = List.copyOf(components);
    contracts = contracts == null ? List.of() : List.copyOf(contracts);
    List<SetRules.Problem> problems = SetRules.check(components, contracts);
    if (!problems.isEmpty()) {
      throw problems.get(0).exception();
    }
  }

  /** A set built now, for signing. */
  public static ReleaseSet of(String name, String version, long sequence, Instant created, Instant expires,
      List<Component> components, Strategy strategy, Rollback rollbackPolicy, List<Contract> contracts) {
    return new ReleaseSet(DocumentType.RELEASE_SET.typeName(), name, version, sequence, created, expires, components,
        strategy, rollbackPolicy, contracts);
  }

  /** The dependency graph of the components: order, levels, who depends on whom. */
  public SetGraph graph() {
    return SetGraph.of(components);
  }

  /** The component of {@code app}, or null if the set does not list it. */
  public Component component(String app) {
    for (Component c : components) {
      if (c.app().equals(app)) {
        return c;
      }
    }
    return null;
  }

  @Override
  public long serial() {
    return sequence;
  }
}
