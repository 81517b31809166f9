package io.upgradekit.updater.engine;

import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.health.HealthChecker;
import io.upgradekit.updater.health.MetricsSampler;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.process.HeldSocket;
import io.upgradekit.updater.process.ServiceController;
import io.upgradekit.updater.event.AgentEvent;
import java.time.Clock;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What the engine's parts ({@link UpdateFlow}, {@link Rollbacks}, {@link Reconciler}, {@link
 * StateRecovery}, {@link Pruner}, {@link EventRun}) share for one target: built once by {@link
 * UpdateEngine}.
 *
 * @param metrics null when no watch window is configured
 */
record Parts(
    UpdaterConfig config,
    Home home,
    PayloadApplier applier,
    Clock clock,
    Sleeper sleeper,
    EventSink events,
    Journal journal,
    RepositoryClient client,
    ServiceController service,
    HealthChecker health,
    MetricsSampler metrics,
    Outbox outbox,
    SetDocuments setDocuments) {

  /** Builds the parts of the target {@code config} describes; events go to {@code listener}. */
  static Parts of(UpdaterConfig config, PayloadApplier applier, Clock clock, Sleeper sleeper,
      Consumer<AgentEvent> listener) {
    Home home = new Home(config.home());
    EventSink events = new EventSink(listener, clock);
    ServiceController service = new ServiceController(config.service(), home.serviceFile(),
        home.state().resolve("service.log"), home.root(), events.info(), String.valueOf(config.file()),
        HeldSocket::standardInput);
    return new Parts(config, home, Objects.requireNonNull(applier, "applier"), clock,
        Objects.requireNonNull(sleeper, "sleeper"), events, new Journal(home.journal(), home.history()),
        new RepositoryClient(config.repository(), config.limits()), service,
        new HealthChecker(config.health(), home.root(), service::privatePort),
        config.watch() == null ? null : new MetricsSampler(config.watch(), service::privatePort),
        new Outbox(home.outbox(), clock, events.info()), new SetDocuments());
  }

  Stager stager() {
    return new Stager(home, applier);
  }

  /** The file {@code bin/updater} reads to switch back after a self-upgrade that did not start. */
  java.nio.file.Path selfPrevious() {
    return home.state().resolve("self-previous");
  }
}
