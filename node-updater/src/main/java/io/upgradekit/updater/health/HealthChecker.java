package io.upgradekit.updater.health;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.SharedHttp;
import io.upgradekit.updater.process.ProcessPort;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The health check: an HTTP GET that must answer 2xx, or a command that must exit 0, each bounded
 * by the timeout, tried up to {@code attempts} times {@code interval} apart until one passes.
 *
 * <p>Every check is about the process of one version. When {@code health.url} contains {@code
 * {processPort}}, each attempt first reads that process's private port (a new process may not have
 * written it yet: that attempt fails and the next one reads again), so the check reaches that
 * process alone even while another version listens on the service's shared port.
 */
public final class HealthChecker {
  private final UpdaterConfig.Health config;
  private final Path workingDir;
  private final Function<String, ProcessPort> ports;

  /** @param ports the private port of the running process of a version ({@code ServiceController::privatePort}) */
  public HealthChecker(UpdaterConfig.Health config, Path workingDir, Function<String, ProcessPort> ports) {
    this.config = config;
    this.workingDir = workingDir;
    this.ports = ports;
  }

  /**
   * Waits until the process of {@code version} is healthy.
   *
   * @param stillRunning false ends the wait early (the process died)
   * @return null, or a note when the check was skipped: a process started without a port file
   *     cannot be reached alone through {@code {processPort}}
   * @throws UpgradeException HEALTH_CHECK_FAILED with the last failure
   */
  public String awaitHealthy(String version, BooleanSupplier stillRunning) {
    String last = "no attempt";
    for (int attempt = 1; attempt <= config.attempts(); attempt++) {
      if (!stillRunning.getAsBoolean()) {
        throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "the service (" + version + ") is no longer "
            + "running (last check: " + last + ")");
      }
      if (config.url() != null && config.url().perProcess()) {
        ProcessPort port = ports.apply(version);
        if (!port.known() && !port.addressable()) {
          return "health check of " + version + " skipped: " + port.problem();
        }
      }
      String problem = checkOnce(version);
      if (problem == null) {
        return null;
      }
      last = problem;
      if (attempt < config.attempts()) {
        try {
          Thread.sleep(config.interval().toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "the service (" + version + ") is not healthy after "
        + config.attempts() + " attempt(s): " + last);
  }

  /** One check of the process of {@code version}: null when healthy, else what was wrong. */
  public String checkOnce(String version) {
    if (config.url() != null) {
      URI url;
      if (config.url().perProcess()) {
        ProcessPort port = ports.apply(version);
        if (!port.known()) {
          return port.problem();
        }
        url = config.url().resolve(port.port());
      } else {
        url = config.url().fixed();
      }
      // Completes when the body has been read (and discarded): the timeout bounds headers and body.
      CompletableFuture<HttpResponse<Void>> exchange = SharedHttp.client(url).sendAsync(
          HttpRequest.newBuilder(url).timeout(config.timeout()).GET().build(), HttpResponse.BodyHandlers.discarding());
      try {
        int status = exchange.get(config.timeout().toMillis(), TimeUnit.MILLISECONDS).statusCode();
        return status >= 200 && status < 300 ? null : url + " answered HTTP " + status;
      } catch (ExecutionException e) {
        return url + " failed: " + (e.getCause() == null ? e : e.getCause());
      } catch (TimeoutException e) {
        exchange.cancel(true); // else an endless body would be read (and discarded) for ever
        return url + " did not answer within " + config.timeout().toMillis() + " ms";
      } catch (InterruptedException e) {
        exchange.cancel(true);
        Thread.currentThread().interrupt();
        return "interrupted";
      }
    }
    try {
      Process p = new ProcessBuilder(config.command()).directory(workingDir.toFile())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(config.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return "health.command did not finish within " + config.timeout().toMillis() + " ms";
      }
      return p.exitValue() == 0 ? null : "health.command exited with status " + p.exitValue();
    } catch (IOException e) {
      return "cannot run health.command: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
