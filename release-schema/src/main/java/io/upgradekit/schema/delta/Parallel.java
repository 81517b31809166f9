package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** Bounded parallelism for per-file work: a few threads pull items in order; the first failure wins. */
final class Parallel {
  private Parallel() {}

  /** The engine's default: one thread per core, at most 8. */
  static int defaultThreads() {
    return Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8));
  }

  @FunctionalInterface
  interface Task<T, R> {
    R apply(T item) throws IOException;
  }

  /**
   * Applies {@code task} to every item with at most {@code threads} threads and returns the results
   * in item order. The first failure stops the others from starting new items and is rethrown
   * (IOException as IO_ERROR).
   */
  static <T, R> List<R> map(List<T> items, int threads, Task<T, R> task) {
    int n = items.size();
    Object[] results = new Object[n];
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Runnable worker = () -> {
      for (int i; failure.get() == null && (i = next.getAndIncrement()) < n; ) {
        try {
          results[i] = task.apply(items.get(i));
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
      }
    };
    int count = Math.max(1, Math.min(threads, n));
    List<Thread> started = new ArrayList<>();
    for (int k = 1; k < count; k++) {
      Thread t = new Thread(worker, "upgradekit-delta-" + k);
      t.setDaemon(true);
      t.start();
      started.add(t);
    }
    worker.run();
    boolean interrupted = false;
    for (Thread t : started) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
          failure.compareAndSet(null, e);
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable t = failure.get();
    if (t != null) {
      throw rethrow(t);
    }
    @SuppressWarnings("unchecked")
    List<R> list = (List<R>) Arrays.asList(results);
    return list;
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    if (t instanceof IOException e) {
      return new UpgradeException(ErrorCode.IO_ERROR, e.getMessage() == null ? e.toString() : e.getMessage(), e);
    }
    if (t instanceof InterruptedException) {
      return new UpgradeException(ErrorCode.IO_ERROR, "interrupted", t);
    }
    return new UncheckedIOException(new IOException(t));
  }
}
