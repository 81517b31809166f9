package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/**
 * One decision of a release set's controller or operator, stored as {@code
 * set-rollouts/<name>/<version>/decisions/<sequence>.json} and created exclusively under the next
 * sequence number, like a single rollout's {@link RolloutDecision}: each takes effect once, however
 * many repo-server processes share the repository, and the set's state is the fold of its decisions
 * (they are also its audit log). A decision that acts on components ({@code halt}, {@code pause},
 * {@code resume}, {@code recall-components}) names them; each component's own decision that carries
 * it out refers back to it ({@link RolloutDecision.SetRef}), so a process that died between the two
 * leaves the component's part owed, and the next pass (of any process) stores it once.
 *
 * @param type always {@code "set-decision"}
 * @param name the set
 * @param version the set's version
 * @param sequence 1, 2, 3, ... without gaps
 * @param at when it was taken
 * @param actor {@code controller}, or the operator who acted
 * @param kind what was decided
 * @param reason why, in a sentence
 * @param apps the components it concerns (absent for decisions on the set as a whole)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SetDecision(String type, String name, String version, long sequence, Instant at, String actor,
    Kind kind, String reason, @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> apps) {
  public enum Kind {
    /** The controller found the set, verified: it runs from now on. */
    @JsonProperty("start")
    START,
    /** The components in {@code apps} may start their rollouts (their dependencies completed healthy). */
    @JsonProperty("start-components")
    START_COMPONENTS,
    /** No component starts; the rolling ones in {@code apps} are paused. */
    @JsonProperty("pause")
    PAUSE,
    /** Undoes {@code pause} or {@code halt}: the components in {@code apps} are resumed. */
    @JsonProperty("resume")
    RESUME,
    /** Nothing starts or proceeds; the components in {@code apps} are halted. */
    @JsonProperty("halt")
    HALT,
    /** The set goes back: the components it rolled are recalled top-down. */
    @JsonProperty("recall")
    RECALL,
    /** During a recall: the components in {@code apps} are recalled now (their dependents are back). */
    @JsonProperty("recall-components")
    RECALL_COMPONENTS,
    /** Every component completed healthy (end). */
    @JsonProperty("complete")
    COMPLETE,
    /** After a recall, every component the set rolled is back (end). */
    @JsonProperty("recalled")
    RECALLED
  }

  public SetDecision {
    Checks.type(type, DocumentType.SET_DECISION);
    Names.requireSetName(name);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(at, "at");
    Checks.required(actor, "actor");
    Checks.text(actor, "actor", 64);
    Checks.required(kind, "kind");
    Checks.text(reason, "reason", RolloutDecision.MAX_REASON_LENGTH);
    apps = apps == null ? List.of() : List.copyOf(apps);
    if (apps.size() > ReleaseSet.MAX_COMPONENTS) {
      throw Checks.malformed("a set decision names at most " + ReleaseSet.MAX_COMPONENTS + " components");
    }
    apps.forEach(Names::requireApp);
    if ((kind == Kind.START_COMPONENTS || kind == Kind.RECALL_COMPONENTS) && apps.isEmpty()) {
      throw Checks.malformed("a " + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
          + " decision names its components");
    }
  }

  /** A decision taken now. */
  public static SetDecision of(String name, String version, long sequence, Instant at, String actor, Kind kind,
      String reason, List<String> apps) {
    return new SetDecision(DocumentType.SET_DECISION.typeName(), name, version, sequence, at, actor, kind, reason,
        apps);
  }

  /** The kind as written ({@code start-components}). */
  public String kindName() {
    return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
