package io.upgradekit.updater.download;

import java.net.http.HttpClient;
import java.time.Duration;

/**
 * The process's one JDK {@link HttpClient}: each client owns a selector thread and a worker pool,
 * so sharing one keeps the idle agent small. It never follows redirects; callers bound every
 * exchange with their own request timeout and stall watchdog.
 */
public final class SharedHttp {
  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10))
      .followRedirects(HttpClient.Redirect.NEVER)
      .build();

  private SharedHttp() {}

  public static HttpClient client() {
    return CLIENT;
  }
}
