package io.upgradekit.updater.download;

import java.net.URI;
import java.net.http.HttpClient;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The process's JDK {@link HttpClient}s: one for {@code https} URLs and one for plain {@code http}
 * (loopback health and metrics endpoints, repositories on a trusted network), each created on first
 * use and shared by every exchange of an update cycle. Neither follows redirects; callers bound every
 * exchange with their own request timeout and stall watchdog.
 *
 * <p>Kept small because the agent idles most of its life: the JDK client initialises a TLS context
 * (by default the whole CA store) even when it only ever speaks plain HTTP, so the plain client gets
 * one that refuses every use and loads nothing; its worker threads end 2 s after their
 * last task (the JDK default keeps them 60 s, longer than a poll interval); and {@link #release()}
 * drops both clients after an update cycle, so that their selector threads, connection pools and
 * buffers go with the next garbage collection.
 */
public final class SharedHttp {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static HttpClient tls;
  private static HttpClient plain;

  private SharedHttp() {}

  /** The client for {@code uri}'s scheme. */
  public static synchronized HttpClient client(URI uri) {
    if ("https".equalsIgnoreCase(uri.getScheme())) {
      if (tls == null) {
        tls = builder().build();
      }
      return tls;
    }
    if (plain == null) {
      plain = builder().sslContext(new NoTls()).sslParameters(new SSLParameters()).build();
    }
    return plain;
  }

  /**
   * Drops the clients; the next exchange creates new ones. A dropped client's selector thread ends
   * once the client is garbage collected and has no exchange in flight.
   */
  public static synchronized void release() {
    tls = null;
    plain = null;
  }

  private static HttpClient.Builder builder() {
    return HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER)
        .executor(executor());
  }

  /** Like the JDK's default (a cached pool of daemon threads) but threads end 2 s after their last task. */
  private static ExecutorService executor() {
    return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 2, TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
      Thread t = new Thread(task, "updater-http-" + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * The plain client's TLS context: it refuses every use. The JDK client wants a context (and its
   * default parameters, given explicitly) even if it never speaks TLS; a real one, even one that
   * trusts nothing, loads the whole TLS implementation (about 170 classes and their tables) into an
   * agent that may only ever use plain HTTP.
   */
  private static final class NoTls extends SSLContext {
    NoTls() {
      super(new Refusing(), null, "none");
    }
  }

  private static final class Refusing extends SSLContextSpi {
    private static UnsupportedOperationException refused() {
      return new UnsupportedOperationException("the plain-HTTP client has no TLS; https URLs use the TLS client");
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) {
      throw refused();
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      throw refused();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      throw refused();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      throw refused();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      throw refused();
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      throw refused();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      throw refused();
    }
  }
}
