package io.upgradekit.updater.health;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;

/**
 * Requests at a steady rate to one URL of the service while a drill switches versions, so that
 * the drill can say how many requests failed (no answer, connection refused, or not 2xx) and the
 * longest time without a good answer, as a client of the service would see them. Runs on its own
 * daemon thread from {@link #start} to {@link #close}; each request has a timeout, so the thread
 * never waits longer than that for one answer.
 */
public final class RequestProbe implements AutoCloseable {
  /**
   * What the probe saw over one stretch.
   *
   * @param requests requests sent
   * @param failed requests that got no 2xx answer within the timeout
   * @param longestGapMillis the longest time between two good answers (or from the stretch's start
   *     to its first good answer)
   */
  public record Figures(long requests, long failed, long longestGapMillis) {}

  private final URI url;
  private final Duration interval;
  private final Duration timeout;
  private final HttpClient client;
  private final Object lock = new Object();
  private Thread thread;
  private volatile boolean running;
  private long requests;
  private long failed;
  private long lastGood;
  private long longestGap;

  /**
   * @param url a URL of the service every client uses (not a per-process port)
   * @param interval time between requests
   * @param timeout how long one request may take
   */
  public RequestProbe(URI url, Duration interval, Duration timeout) {
    this.url = Objects.requireNonNull(url, "url");
    this.interval = Objects.requireNonNull(interval, "interval");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.client = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  public void start() {
    synchronized (lock) {
      lastGood = System.nanoTime();
    }
    running = true;
    thread = new Thread(this::loop, "drill-probe");
    thread.setDaemon(true);
    thread.start();
  }

  /** The figures since the start or the last call, and a new stretch from now. */
  public Figures take() {
    synchronized (lock) {
      long now = System.nanoTime();
      Figures f = new Figures(requests, failed, Math.max(longestGap, now - lastGood) / 1_000_000);
      requests = 0;
      failed = 0;
      longestGap = 0;
      lastGood = now;
      return f;
    }
  }

  private void loop() {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).GET().build();
    while (running) {
      long sent = System.nanoTime();
      boolean good;
      try {
        int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        good = status >= 200 && status < 300;
      } catch (IOException e) {
        good = false;
      } catch (InterruptedException e) {
        return;
      }
      synchronized (lock) {
        requests++;
        long now = System.nanoTime();
        if (good) {
          longestGap = Math.max(longestGap, now - lastGood);
          lastGood = now;
        } else {
          failed++;
        }
      }
      long left = interval.toNanos() - (System.nanoTime() - sent);
      if (left > 0) {
        try {
          Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  @Override
  public void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(timeout.toMillis() + 1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
