package io.upgradekit.it;

import java.util.Objects;

/**
 * One build of hello-service to release: what {@code mvn package -Dupgrade.version=...
 * -Dhello.greeting=... -Dhello.healthy=...} bakes into it.
 *
 * @param version the release version ({@code upgrade.version})
 * @param greeting what {@code /} answers before the version ({@code hello.greeting})
 * @param healthy false for a build whose {@code /health} answers 503 ({@code hello.healthy})
 */
public record HelloBuild(String version, String greeting, boolean healthy) {
  /** The pom's default greeting. */
  public static final String DEFAULT_GREETING = "Hello from hello-service";

  public HelloBuild {
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(greeting, "greeting");
  }

  /** A healthy build with the default greeting. */
  public static HelloBuild of(String version) {
    return new HelloBuild(version, DEFAULT_GREETING, true);
  }

  public HelloBuild withGreeting(String newGreeting) {
    return new HelloBuild(version, newGreeting, healthy);
  }

  public HelloBuild unhealthy() {
    return new HelloBuild(version, greeting, false);
  }
}
