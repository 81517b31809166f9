package io.upgradekit.it;

import io.upgradekit.plugin.release.ReleaseResult;

/**
 * Publishes a build of hello-service (app {@code hello}, channel {@code stable}) into a repository:
 * either through the real {@code mvn package upgrade:release} ({@link MavenReleaser}) or through the
 * plugin's library in this JVM ({@link LibraryReleaser}, seconds faster, for tests that only need a
 * repository).
 */
public interface Releaser {
  /** Builds (where needed) and publishes {@code build}; what the plugin wrote to {@code release.json}. */
  ReleaseResult release(HelloBuild build);
}
