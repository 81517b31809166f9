/**
 * The JSON bodies of repo-server's {@code /v1} API as records, one per body, each with a JSON
 * Schema in this jar: what the server writes and the plugin, the node updater and the end-to-end
 * tests read, and the other way round. {@link io.upgradekit.schema.api.ApiBody} lists them with
 * their size caps, and reads and writes them. Member names are the wire's; never rename one.
 */
package io.upgradekit.schema.api;
