package io.upgradekit.it;

import java.util.Objects;

/**
 * One build of hello-service to release: what {@code mvn package -Dupgrade.version=...
 * -Dhello.greeting=... -Dhello.healthy=...} bakes into it.
 *
 * @param version the release version ({@code upgrade.version})
 * @param greeting what {@code /} answers before the version ({@code hello.greeting})
 * @param healthy false for a build whose {@code /health} answers 503 ({@code hello.healthy})
 * @param errorRate the share of {@code /} the build answers with 500 ({@code hello.errorRate}), 0 for none
 * @param errorsAfterSeconds from how long after its start on it does ({@code hello.errorsAfter})
 */
public record HelloBuild(String version, String greeting, boolean healthy, double errorRate, long errorsAfterSeconds) {
  /** The pom's default greeting. */
  public static final String DEFAULT_GREETING = "Hello from hello-service";

  public HelloBuild {
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(greeting, "greeting");
    if (!(errorRate >= 0 && errorRate <= 1) || errorsAfterSeconds < 0) {
      throw new IllegalArgumentException("errorRate must be 0..1 and errorsAfterSeconds not negative");
    }
  }

  public HelloBuild(String version, String greeting, boolean healthy) {
    this(version, greeting, healthy, 0, 0);
  }

  /** A healthy build with the default greeting. */
  public static HelloBuild of(String version) {
    return new HelloBuild(version, DEFAULT_GREETING, true);
  }

  public HelloBuild withGreeting(String newGreeting) {
    return new HelloBuild(version, newGreeting, healthy, errorRate, errorsAfterSeconds);
  }

  public HelloBuild unhealthy() {
    return new HelloBuild(version, greeting, false, errorRate, errorsAfterSeconds);
  }

  /**
   * A build that passes its health check but answers {@code rate} of {@code /} with 500 from {@code
   * afterSeconds} after each start on: bad in a way only a comparison with the rest of the fleet sees
   * once the node's own watch window has passed.
   */
  public HelloBuild failing(double rate, long afterSeconds) {
    return new HelloBuild(version, greeting, healthy, rate, afterSeconds);
  }

  /** Whether this build differs from a plain one in what it does (not only in its greeting). */
  boolean faulty() {
    return !healthy || errorRate > 0;
  }
}
