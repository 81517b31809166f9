package io.upgradekit.updater.health;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The health check: an HTTP GET that must answer 2xx, or a command that must exit 0, each bounded
 * by the timeout, tried up to {@code attempts} times {@code interval} apart until one passes.
 */
public final class HealthChecker {
  private final UpdaterConfig.Health config;
  private final Path workingDir;
  private final HttpClient http;

  public HealthChecker(UpdaterConfig.Health config, Path workingDir) {
    this.config = config;
    this.workingDir = workingDir;
    this.http = config.url() == null ? null : io.upgradekit.updater.download.SharedHttp.client(config.url());
  }

  /**
   * Waits until the service is healthy.
   *
   * @param stillRunning false ends the wait early (the process died)
   * @throws UpgradeException HEALTH_CHECK_FAILED with the last failure
   */
  public void awaitHealthy(BooleanSupplier stillRunning) {
    String last = "no attempt";
    for (int attempt = 1; attempt <= config.attempts(); attempt++) {
      if (!stillRunning.getAsBoolean()) {
        throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "the service is no longer running (last check: "
            + last + ")");
      }
      String problem = checkOnce();
      if (problem == null) {
        return;
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
    throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "the service is not healthy after "
        + config.attempts() + " attempt(s): " + last);
  }

  /** One check: null when healthy, else what was wrong. */
  public String checkOnce() {
    if (config.url() != null) {
      try {
        HttpResponse<Void> response = http.sendAsync(
                HttpRequest.newBuilder(config.url()).timeout(config.timeout()).GET().build(),
                HttpResponse.BodyHandlers.discarding())
            .get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        int status = response.statusCode();
        return status >= 200 && status < 300 ? null : config.url() + " answered HTTP " + status;
      } catch (ExecutionException e) {
        return config.url() + " failed: " + (e.getCause() == null ? e : e.getCause());
      } catch (TimeoutException e) {
        return config.url() + " did not answer within " + config.timeout().toMillis() + " ms";
      } catch (InterruptedException e) {
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
