package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The answer to {@code GET /v1/calls}: whether a rollout calls the node now (its wave opened, a
 * recall reached it, an operator resumed or retried it), so that it polls at once instead of at its
 * next interval. The server holds the request until there is a call or the wait the node asked for
 * ends. Schema {@code node-call.schema.json}.
 *
 * @param call whether the node should poll now
 * @param token names this call; the node sends it back as {@code after} so the same call is not
 *     answered twice (null when nothing calls the node)
 * @param reason what calls the node, for its log (null without a call)
 * @param pollWithinMillis the node polls at a random moment within this many milliseconds, so that
 *     the nodes of a wave called together do not all ask at the same instant (null or 0: at once)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeCall(boolean call, String token, String reason, Long pollWithinMillis) {
  /** A token's longest form: {@code <version>/<decision sequence>}. */
  public static final int MAX_TOKEN = 160;

  /** The longest spread a server may ask for. */
  public static final long MAX_POLL_WITHIN_MILLIS = 60_000;

  public NodeCall {
    if (token != null) {
      Wire.text(token, "token", MAX_TOKEN);
    }
    if (reason != null) {
      Wire.text(reason, "reason", 1024);
    }
    if (call && token == null) {
      throw Wire.malformed("a call names its token");
    }
    if (pollWithinMillis != null && (pollWithinMillis < 0 || pollWithinMillis > MAX_POLL_WITHIN_MILLIS)) {
      throw Wire.malformed("pollWithinMillis must be between 0 and " + MAX_POLL_WITHIN_MILLIS);
    }
  }

  /** Nothing calls the node (yet): the answer when the wait ends. */
  public static NodeCall none(String after) {
    return new NodeCall(false, after, null, null);
  }

  /** The spread as a duration (zero when absent). */
  public java.time.Duration pollWithin() {
    return java.time.Duration.ofMillis(pollWithinMillis == null ? 0 : pollWithinMillis);
  }
}
