package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.ExitStatus;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every target command shares: which configuration, how chatty. */
public final class ConfigOption {
  /** Where the configuration is looked for when neither --config nor UPGRADEKIT_CONFIG is given. */
  public static final String DEFAULT_CONFIG = "/etc/upgradekit/updater.yaml";

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "The target's YAML configuration (default: $UPGRADEKIT_CONFIG, else " + DEFAULT_CONFIG + ").")
  Path config;

  @Option(names = {"-q", "--quiet"}, description = "Print only errors.")
  boolean quiet;

  UpdaterConfig load() {
    Path file = config;
    if (file == null) {
      String env = System.getenv("UPGRADEKIT_CONFIG");
      file = Path.of(env == null || env.isBlank() ? DEFAULT_CONFIG : env);
    }
    return ConfigLoader.load(file);
  }

  /** Prints "error: CODE: sentence" and maps the code to DESIGN §8's exit status. */
  static int fail(PrintStream err, UpgradeException e) {
    err.println("error: " + e);
    return ExitStatus.of(e.code());
  }
}
