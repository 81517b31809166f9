package io.upgradekit.schema.layout;

/**
 * What a repository-relative path holds, as {@link RepositoryLayout#kindOf} tells it, so that a
 * server can choose caching headers and access rules without knowing the layout's details.
 */
public enum PathKind {
  /** {@code blobs/sha256/<xx>/<hash>}: content named by its hash; never changes, cache forever. */
  BLOB,
  /** {@code apps/<app>/releases/<version>/release.json}: immutable once published. */
  RELEASE_MANIFEST,
  /** {@code sets/<name>/<version>.json}: a signed release set; immutable once published, cache forever. */
  RELEASE_SET,
  /** {@code apps/<app>/channels/<channel>.json}: mutable, replaced atomically; revalidate. */
  CHANNEL_POINTER,
  /** {@code apps/<app>/rollout/<version>.json}: mutable and short-lived; revalidate. */
  ROLLOUT_STATE,
  /** {@code sets/<name>/rollout/<version>.json}: a release set's state, mutable and short-lived; revalidate. */
  SET_STATE,
  /**
   * {@code root.json} (the current trust root, mutable) or {@code roots/<n>.root.json} (one
   * version of it, immutable); {@link RepositoryLayout#isImmutable} tells them apart.
   */
  TRUST_ROOT,
  /** {@code claims/...}: rollout slot claims, written by repo-server's API; not for caching. */
  CLAIM,
  /** {@code feedback/...}: node reports, written by repo-server's API; not for caching. */
  FEEDBACK,
  /** {@code rollouts/<app>/<version>/decisions/<n>.json}: a rollout decision, repo-server's; not served. */
  DECISION,
  /** {@code set-rollouts/<name>/<version>/decisions/<n>.json}: a release set's decision, repo-server's; not served. */
  SET_DECISION,
  /** {@code rollouts/<app>/<version>/leases/...}: rollout slot grants and their marks, repo-server's; not served. */
  LEASE,
  /** {@code fleet/inventory/<instance>.json}: a server process's inventory snapshot; not served. */
  INVENTORY,
  /** Anything else, including every malformed, hidden or temp path. */
  OTHER
}
