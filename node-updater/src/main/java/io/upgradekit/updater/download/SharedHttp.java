package io.upgradekit.updater.download;

import java.net.URI;
import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * The process's JDK {@link HttpClient}s: one for {@code https} URLs and one for plain {@code http}
 * (loopback health and metrics endpoints, repositories on a trusted network), each created on first
 * use. Each client owns a selector thread and a worker pool, so sharing them keeps the idle agent
 * small; and the JDK client initialises the default TLS context (the whole CA store) even when it
 * only ever speaks plain HTTP, so the plain client gets a TLS context that trusts nothing and is
 * never used. Neither follows redirects; callers bound every exchange with their own request
 * timeout and stall watchdog.
 */
public final class SharedHttp {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private SharedHttp() {}

  /** The client for {@code uri}'s scheme. */
  public static HttpClient client(URI uri) {
    return "https".equalsIgnoreCase(uri.getScheme()) ? Tls.CLIENT : Plain.CLIENT;
  }

  private static final class Tls {
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  private static final class Plain {
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER).sslContext(trustingNothing()).build();

    private static SSLContext trustingNothing() {
      try {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[0], null);
        return context;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("every Java platform has TLS", e);
      }
    }
  }
}
