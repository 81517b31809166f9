package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.ExitStatus;
import io.upgradekit.updater.engine.UpdateEngine;
import io.upgradekit.updater.event.AgentEvent;
import java.io.PrintStream;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code updater rollback}: back to the previous version, by hand. */
@Command(name = "rollback", mixinStandardHelpOptions = true,
    description = {
        "Switches the target back to the previous version (the one that ran before the last committed update), "
            + "restarts it and checks its health.",
        "The version rolled away from is marked bad on this node, so 'run' does not install it again until the "
            + "channel points at another release."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:rolled back; the previous version runs and is healthy",
        "1:no previous version on disk, or the rollback failed (see 'updater history')",
        "2:usage or configuration error",
        "4:another updater holds the lock; nothing was written"})
public final class RollbackCommand implements Callable<Integer> {
  @Mixin
  ConfigOption options;

  private final PrintStream out;
  private final Consumer<AgentEvent> extraListener;

  public RollbackCommand() {
    this(System.err, e -> { });
  }

  /** For tests and embedders: an extra event listener. */
  public RollbackCommand(PrintStream out, Consumer<AgentEvent> extraListener) {
    this.out = out;
    this.extraListener = extraListener;
  }

  @Override
  public Integer call() {
    UpdaterConfig config;
    try {
      config = options.load();
    } catch (UpgradeException e) {
      return ConfigOption.fail(out, e);
    }
    Console console = new Console(out, options.quiet);
    UpdateEngine engine = new UpdateEngine(config, PayloadAppliers.standard(), Clock.systemUTC(),
        console.andThen(extraListener));
    UpdateEngine.Result result = engine.rollback();
    out.println((result.code() == null ? "" : "[" + result.code() + "] ") + result.message());
    return ExitStatus.ofManualRollback(result.outcome(), result.code());
  }
}
