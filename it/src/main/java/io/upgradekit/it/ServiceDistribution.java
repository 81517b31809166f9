package io.upgradekit.it;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A built service distribution the harness releases and installs: hello-service, or one component of
 * the example shop (database, cache, api, gateway), which is hello-service's code with its own build
 * info, start script and settings. {@link HelloDistributions#variant} makes other versions of it.
 *
 * @param app the app it is released as, and the nodes run
 * @param dist the built tree ({@code bin/}, {@code conf/}, {@code lib/})
 * @param jarPrefix the file name start of the jar under {@code lib/} that holds the build info
 * @param buildResource the build info's resource in that jar
 * @param launcher the start script inside the tree
 * @param name the service's name (its build info's {@code name}, and the greeting of a shop component)
 */
public record ServiceDistribution(String app, Path dist, String jarPrefix, String buildResource, String launcher,
    String name) {
  /** The example shop's components, bottom-up (each calls the one before it). */
  public static final java.util.List<String> SHOP = java.util.List.of("database", "cache", "api", "gateway");

  public ServiceDistribution {
    Objects.requireNonNull(app, "app");
    Objects.requireNonNull(dist, "dist");
    Objects.requireNonNull(jarPrefix, "jarPrefix");
    Objects.requireNonNull(buildResource, "buildResource");
    Objects.requireNonNull(launcher, "launcher");
    Objects.requireNonNull(name, "name");
  }

  /** hello-service ({@code examples/hello-service}), released as app {@code hello}. */
  public static ServiceDistribution hello(Artifacts artifacts) {
    return new ServiceDistribution("hello", artifacts.helloDist(), "hello-service-", HelloDistributions.BUILD_PROPERTIES,
        "bin/hello-service", "hello-service");
  }

  /** A component of the example shop ({@code examples/shop/<component>}), released as app {@code component}. */
  public static ServiceDistribution shop(Artifacts artifacts, String component) {
    if (!SHOP.contains(component)) {
      throw new IllegalArgumentException("the shop has no component " + component + "; it has " + SHOP);
    }
    return new ServiceDistribution(component, artifacts.shopDist(component), component + "-",
        "io/upgradekit/examples/shop/build.properties", "bin/" + component, component);
  }

  /** A healthy build of {@code version}, answering as this service does by default. */
  public HelloBuild build(String version) {
    return app.equals("hello") ? HelloBuild.of(version) : new HelloBuild(version, name, true);
  }

  /** The node configuration's app and start script for this service. */
  public NodeConfig configure(NodeConfig config) {
    return config.withApp(app, launcher);
  }
}
