package io.upgradekit.updater.cli;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.ExitStatus;
import io.upgradekit.updater.engine.UpdateEngine;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.health.RequestProbe;
import java.io.PrintStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code updater drill}: a rollback rehearsed on purpose, through the code of a real incident. */
@Command(name = "drill", mixinStandardHelpOptions = true,
    description = {
        "Rehearses a rollback on purpose: switches the service back to the previous version through ROLLBACK, as "
            + "a recall or 'updater rollback' does (the release is not marked bad), then forward to the channel's "
            + "release again through an ordinary update (RESOLVE ... GATE, with a rollout slot when the release has "
            + "a plan, ... VERIFY, COMMIT).",
        "Both events are reported like any event, marked as a drill, with how long each leg took and, with "
            + "--probe, how many of the probe's requests failed; repo-server lists them under 'rollout status' and "
            + "the dashboard shows them in the node's history. Takes the target lock, like 'run'."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:back and forward again; the release runs and is healthy (or the rollout makes the forward leg wait: the"
            + " daemon goes on later)",
        "1:no previous version on disk, the switch back failed, or the forward leg failed before its switch",
        "2:usage or configuration error",
        "3:the forward leg was refused (verification)",
        "4:another updater holds the lock; nothing was written",
        "5:the forward leg failed after its switch and was rolled back: the node runs the previous version"})
public final class DrillCommand implements Callable<Integer> {
  @Mixin
  ConfigOption options;

  @Option(names = "--probe", paramLabel = "URL",
      description = "Send requests to this URL of the service while the drill runs, as a client would, and count those"
          + " that fail (no answer, refused, or not 2xx). Default: health.url when it names no {processPort};"
          + " 'none' for no probe.")
  String probe;

  @Option(names = "--probe-interval", paramLabel = "DURATION", defaultValue = "20ms",
      description = "Time between probe requests (10ms to 10s). Default: ${DEFAULT-VALUE} (50 per second).")
  String probeInterval;

  private final PrintStream out;
  private final Consumer<AgentEvent> extraListener;

  public DrillCommand() {
    this(System.err, e -> { });
  }

  /** For tests and embedders: an extra event listener. */
  public DrillCommand(PrintStream out, Consumer<AgentEvent> extraListener) {
    this.out = out;
    this.extraListener = extraListener;
  }

  @Override
  public Integer call() {
    UpdaterConfig config;
    RequestProbe requests;
    try {
      config = options.load();
      requests = probe(config);
    } catch (UpgradeException e) {
      return ConfigOption.fail(out, e);
    }
    Console console = new Console(out, options.quiet);
    UpdateEngine engine = new UpdateEngine(config, PayloadAppliers.standard(), Clock.systemUTC(),
        console.andThen(extraListener));
    UpdateEngine.Result result = engine.drill(requests);
    out.println((result.code() == null ? "" : "[" + result.code() + "] ") + result.message());
    return ExitStatus.of(result.outcome(), result.code());
  }

  private RequestProbe probe(UpdaterConfig config) {
    Duration interval;
    try {
      interval = io.upgradekit.schema.Quantities.parseDuration(probeInterval);
    } catch (IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "--probe-interval " + probeInterval + ": " + e.getMessage());
    }
    if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(Duration.ofSeconds(10)) > 0) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "--probe-interval " + probeInterval + " must be between"
          + " 10ms and 10s");
    }
    if ("none".equals(probe)) {
      return null;
    }
    URI url;
    if (probe != null) {
      try {
        url = URI.create(probe);
      } catch (IllegalArgumentException e) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "--probe " + probe + " is not a URL: " + e.getMessage());
      }
      if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "--probe " + probe + " must be an http(s) URL of the"
            + " service, e.g. http://127.0.0.1:8080/health");
      }
    } else if (config.health().url() != null && !config.health().url().perProcess()) {
      url = config.health().url().fixed();
    } else {
      return null; // a per-process health URL reaches one process, not what clients reach
    }
    return new RequestProbe(url, interval, Duration.ofSeconds(1));
  }
}
