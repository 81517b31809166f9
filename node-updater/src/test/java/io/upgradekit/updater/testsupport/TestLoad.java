package io.upgradekit.updater.testsupport;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A light client load on a target's service: {@code GET /} on a fresh connection every few
 * milliseconds, counting requests that got no 200 (connection refused or reset, error status).
 */
public final class TestLoad implements AutoCloseable {
  private final TestTarget target;
  private final Thread thread;
  private final AtomicInteger sent = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private volatile boolean stop;

  public TestLoad(TestTarget target) {
    this.target = target;
    this.thread = new Thread(this::run, "test-load");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (!stop) {
      sent.incrementAndGet();
      if (target.servedVersion() == null) {
        failed.incrementAndGet();
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  public int sent() {
    return sent.get();
  }

  public int failed() {
    return failed.get();
  }

  /** Stops the load after the request in flight. */
  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.join(10_000);
  }
}
