package io.upgradekit.schema.api;

import io.upgradekit.schema.model.Names;

/**
 * The body of {@code POST /v1/claims}: a node asks for a rollout slot of a scope (e.g. a wave) of
 * one release. Schema {@code claim-request.schema.json}.
 *
 * <p>Reading checks the JSON only (types, duplicates, size): the server checks the names with
 * {@link #requireValidNames()} and answers {@code NAME_INVALID} for a bad one, so that a refused
 * name is reported as such and not as a malformed document.
 *
 * @param app the app
 * @param version the release being rolled out
 * @param scope the slot set, e.g. {@code wave-1}
 * @param node the node the slot is for
 */
public record ClaimRequest(String app, String version, String scope, String node) {
  /**
   * Checks every name against its strict pattern.
   *
   * @return this request
   * @throws io.upgradekit.schema.UpgradeException NAME_INVALID naming the first bad one
   */
  public ClaimRequest requireValidNames() {
    Names.requireApp(app);
    Names.requireVersion(version);
    Names.requireScope(scope);
    Names.requireNodeId(node);
    return this;
  }
}
