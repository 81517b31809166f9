package io.upgradekit.updater.download;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads an HTTP body within bounds. The JDK client's request timeout ends when the headers arrive;
 * a server that then drips one byte a second would hold a transfer for ever, and one that sends a
 * byte just before each stall timeout would too. So this subscriber asks for one chunk at a time
 * and gives up, cancelling the exchange, when
 *
 * <ul>
 *   <li>no chunk arrives within the stall timeout (a silent server), or
 *   <li>fewer than the minimum rate's bytes arrive within a rate window (a dripping server), or
 *   <li>the transfer's total deadline passes, whatever the rate.
 * </ul>
 *
 * Memory stays bounded: at most one chunk is buffered. Time comes from {@link System#nanoTime()}.
 */
final class BodyReader implements Flow.Subscriber<List<ByteBuffer>> {
  /** Receives the body's bytes; returning normally asks for more. */
  interface Sink {
    void accept(ByteBuffer chunk) throws IOException;
  }

  /**
   * What a transfer may take.
   *
   * @param stall longest silence
   * @param minRate bytes per second over each {@code window}; 0 checks no rate
   * @param window the rate window
   * @param deadlineNanos the {@link System#nanoTime()} by which the body must have ended
   * @param deadlineText what the deadline is, for the error message
   */
  record Bounds(Duration stall, long minRate, Duration window, long deadlineNanos, String deadlineText) {}

  /** The body was slower than the minimum rate, or passed its total deadline. */
  static final class TooSlow extends IOException {
    private static final long serialVersionUID = 1L;

    TooSlow(String message) {
      super(message);
    }
  }

  private static final Object COMPLETE = new Object();

  /** Subscribes a new reader to a response body publisher. */
  static BodyReader subscribe(Flow.Publisher<List<ByteBuffer>> body) {
    BodyReader reader = new BodyReader();
    body.subscribe(reader);
    return reader;
  }

  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private volatile Flow.Subscription subscription;
  private volatile boolean cancelled;

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    if (cancelled) {
      s.cancel();
    } else {
      s.request(1);
    }
  }

  /** Reads nothing more: cancels the exchange (now, or as soon as the body is subscribed). */
  void cancel() {
    cancelled = true;
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
  }

  @Override
  public void onNext(List<ByteBuffer> item) {
    queue.add(item);
  }

  @Override
  public void onError(Throwable throwable) {
    queue.add(throwable);
  }

  @Override
  public void onComplete() {
    queue.add(COMPLETE);
  }

  /**
   * Feeds the body to {@code sink} until it ends.
   *
   * @throws TooSlow when the body is slower than the minimum rate or passes its deadline
   * @throws IOException when the body stalls, fails, or the sink fails (the exchange is cancelled)
   */
  @SuppressWarnings("unchecked")
  void drain(Bounds bounds, Sink sink) throws IOException {
    boolean done = false;
    long stallNanos = bounds.stall().toNanos();
    long windowNanos = bounds.window().toNanos();
    long windowStart = System.nanoTime();
    long windowBytes = 0;
    long lastData = windowStart;
    try {
      while (true) {
        long now = System.nanoTime();
        if (now - bounds.deadlineNanos() >= 0) {
          throw new TooSlow("the transfer did not end within its total deadline of " + bounds.deadlineText());
        }
        if (bounds.minRate() > 0 && now - windowStart >= windowNanos) {
          double seconds = (now - windowStart) / 1e9;
          if (windowBytes < bounds.minRate() * seconds) {
            throw new TooSlow("the transfer delivered " + windowBytes + " bytes in " + Math.round(seconds) + " s, "
                + "slower than the minimum of " + bounds.minRate() + " bytes/s over " + bounds.window().toSeconds()
                + " s (limits.minDownloadRate, limits.minDownloadRateWindow)");
          }
          windowStart = now;
          windowBytes = 0;
        }
        if (now - lastData >= stallNanos) {
          throw new IOException("the server sent no data for " + bounds.stall().toMillis() + " ms (stalled body)");
        }
        long wait = Math.min(bounds.deadlineNanos() - now, lastData + stallNanos - now);
        if (bounds.minRate() > 0) {
          wait = Math.min(wait, windowStart + windowNanos - now);
        }
        Object item;
        try {
          item = queue.poll(Math.max(wait, 1), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while reading", e);
        }
        if (item == null) {
          continue; // a bound is due: the checks above decide which
        }
        if (item == COMPLETE) {
          done = true;
          return;
        }
        if (item instanceof Throwable t) {
          done = true;
          throw t instanceof IOException io ? io : new IOException(t.toString(), t);
        }
        for (ByteBuffer buffer : (List<ByteBuffer>) item) {
          windowBytes += buffer.remaining();
          sink.accept(buffer);
        }
        lastData = System.nanoTime();
        subscription.request(1);
      }
    } finally {
      Flow.Subscription s = subscription;
      if (!done && s != null) {
        s.cancel();
      }
    }
  }
}
