package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Who may sign what. The root role (offline keys) names every key and signs trust roots; the
 * release role (CI) signs release manifests and channel pointers; the rollout role (held online by
 * repo-server) signs short-lived rollout state and can never introduce software.
 */
public enum Role {
  @JsonProperty("root")
  ROOT,
  @JsonProperty("release")
  RELEASE,
  @JsonProperty("rollout")
  ROLLOUT
}
