/**
 * The repository store: the storage primitives (immutable blobs, create-if-absent,
 * compare-and-swap, bounded reads with version tags, listings) that the plugin and repo-server
 * build their publication rules on ({@link io.upgradekit.schema.store.RepositoryStore}), its
 * directory implementation ({@link io.upgradekit.schema.store.DirectoryStore}), and the rules that
 * both share ({@link io.upgradekit.schema.store.TrustRootPublisher}, {@link
 * io.upgradekit.schema.store.BlobCheck}).
 */
package io.upgradekit.schema.store;
