package io.upgradekit.plugin.set;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.ReleaseSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The release set of a multi-module build, without a descriptor file: one component per module that
 * {@code upgrade:release} releases, its dependencies the modules it depends on among them. A module
 * whose Maven dependencies include another component's module is upgraded after it.
 */
public final class ReactorSet {
  /**
   * One module of the build that releases a component.
   *
   * @param key the module's {@code groupId:artifactId}
   * @param app the app it releases ({@code <app>}, its artifactId by default)
   * @param version the version it releases ({@code <version>}, the project version by default)
   * @param dependencies the {@code groupId:artifactId} of every Maven dependency of the module
   */
  public record Module(String key, String app, String version, List<String> dependencies) {
    public Module {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(app, "app");
      Objects.requireNonNull(version, "version");
      dependencies = List.copyOf(dependencies);
    }
  }

  private ReactorSet() {}

  /**
   * The descriptor of the build's modules.
   *
   * @param strategy {@code rolling} or {@code sequential} ({@code <setStrategy>})
   * @param rollbackPolicy {@code auto} or {@code manual} ({@code <setRollbackPolicy>})
   * @param contracts contract lines ({@code <contracts>}), may be empty
   * @throws UpgradeException CONFIG_INVALID (no module releases anything, a bad strategy or policy),
   *     CONTRACT_INVALID, NAME_INVALID
   */
  public static SetDescriptor descriptor(List<Module> modules, String strategy, String rollbackPolicy,
      List<String> contracts) {
    if (modules.isEmpty()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "no release-set.yaml, and no module of this build"
          + " releases a component (none has the upgrade plugin with a payload): write release-set.yaml (see"
          + " docs/release-sets.md), point <descriptor> at one, or run the goal in the build that holds the"
          + " components' modules");
    }
    Map<String, String> appOfModule = new HashMap<>();
    modules.forEach(m -> appOfModule.put(m.key(), m.app()));
    List<ReleaseSet.Component> components = new ArrayList<>();
    for (Module m : modules) {
      List<String> dependsOn = new ArrayList<>();
      for (String dependency : m.dependencies()) {
        String app = appOfModule.get(dependency);
        if (app != null && !app.equals(m.app()) && !dependsOn.contains(app)) {
          dependsOn.add(app);
        }
      }
      try {
        components.add(new ReleaseSet.Component(m.app(), m.version(), dependsOn));
      } catch (UpgradeException e) {
        throw new ConfigurationException(e.code(), "module " + m.key() + ": " + e.getMessage(), e);
      }
    }
    List<ReleaseSet.Contract> parsed = new ArrayList<>();
    for (String line : contracts) {
      parsed.add(ReleaseSet.Contract.parse(line));
    }
    return new SetDescriptor("the build's modules", components, choice(strategy, ReleaseSet.Strategy.class,
        "<setStrategy>"), choice(rollbackPolicy, ReleaseSet.Rollback.class, "<setRollbackPolicy>"), parsed);
  }

  private static <E extends Enum<E>> E choice(String value, Class<E> type, String element) {
    String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    for (E e : type.getEnumConstants()) {
      if (e.name().toLowerCase(Locale.ROOT).equals(v)) {
        return e;
      }
    }
    throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + " is '" + value + "': write "
        + String.join(" or ", java.util.Arrays.stream(type.getEnumConstants())
            .map(e -> e.name().toLowerCase(Locale.ROOT)).toList()));
  }
}
