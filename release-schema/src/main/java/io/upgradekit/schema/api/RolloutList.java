package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/rollouts}: the live rollouts (releases that a channel names with a plan), with
 * operator or viewer credentials. Schema {@code rollout-list.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param controller whether this server runs the rollout controller (it holds the rollout key)
 * @param rollouts one line per rollout
 */
public record RolloutList(Instant generatedAt, boolean controller, List<Summary> rollouts) {
  public static final int MAX_ROLLOUTS = 10_000;

  /**
   * One rollout.
   *
   * @param status {@code not-started}, {@code blocked}, {@code active}, {@code halted}, {@code
   *     recalling}, {@code recalled} or {@code complete}
   * @param paused an operator paused it
   * @param openWaves waves open
   * @param waves waves in all, or null before the start
   * @param decisions decisions taken
   * @param last the last decision as {@code kind: reason}, or null
   * @param lastAt when it was taken, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Summary(String app, String version, String status, boolean paused, int openWaves, Integer waves,
      long decisions, String last, Instant lastAt) {
    public Summary {
      Names.requireApp(app);
      Names.requireVersion(version);
      Wire.required(status, "status");
      Wire.nonNegative(openWaves, "openWaves");
      Wire.nonNegative(decisions, "decisions");
      Wire.text(last, "last", 2100);
    }
  }

  public RolloutList {
    Wire.required(generatedAt, "generatedAt");
    rollouts = List.copyOf(Wire.required(rollouts, "rollouts"));
    if (rollouts.size() > MAX_ROLLOUTS) {
      throw Wire.malformed("at most " + MAX_ROLLOUTS + " rollouts");
    }
  }
}
