package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/sets}: the release sets repo-server runs (published, verified, with at least one
 * component on a channel), with operator or viewer credentials. Schema {@code set-list.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param controller whether this server runs the rollout controller (it holds the rollout key)
 * @param sets one line per set, by name and version
 */
public record SetList(Instant generatedAt, boolean controller, List<Summary> sets) {
  public static final int MAX_SETS = 10_000;

  /**
   * One set.
   *
   * @param status {@code not-started}, {@code running}, {@code halted}, {@code recalling}, {@code
   *     recalled} or {@code complete}
   * @param paused an operator paused the set
   * @param components components in the set
   * @param complete components whose rollout completed healthy
   * @param reason what the set does now and why, in one sentence
   * @param decisions set decisions taken
   * @param last the last set decision as {@code kind: reason}, or null
   * @param lastAt when it was taken, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Summary(String name, String version, String status, boolean paused, int components, int complete,
      String reason, long decisions, String last, Instant lastAt) {
    public Summary {
      Names.requireSetName(name);
      Names.requireVersion(version);
      Wire.required(status, "status");
      Wire.nonNegative(components, "components");
      Wire.nonNegative(complete, "complete");
      Wire.text(reason, "reason", 2100);
      Wire.nonNegative(decisions, "decisions");
      Wire.text(last, "last", 2100);
    }
  }

  public SetList {
    Wire.required(generatedAt, "generatedAt");
    sets = List.copyOf(Wire.required(sets, "sets"));
    if (sets.size() > MAX_SETS) {
      throw Wire.malformed("at most " + MAX_SETS + " sets");
    }
  }
}
