package io.upgradekit.updater.download;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads an HTTP body with a stall watchdog. The JDK client's request timeout ends when the
 * headers arrive; a server that then drips one byte a minute would hold a download for ever. This
 * subscriber asks for one chunk at a time and gives up when no chunk arrives within the stall
 * timeout, cancelling the exchange. Memory stays bounded: at most one chunk is buffered.
 */
final class BodyReader implements Flow.Subscriber<List<ByteBuffer>> {
  /** Receives the body's bytes; returning normally asks for more. */
  interface Sink {
    void accept(ByteBuffer chunk) throws IOException;
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

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    s.request(1);
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
   * @throws IOException when the body stalls, fails, or the sink fails (the exchange is cancelled)
   */
  @SuppressWarnings("unchecked")
  void drain(Duration stallTimeout, Sink sink) throws IOException {
    boolean done = false;
    try {
      while (true) {
        Object item;
        try {
          item = queue.poll(stallTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while reading", e);
        }
        if (item == null) {
          throw new IOException("the server sent no data for " + stallTimeout.toMillis() + " ms (stalled body)");
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
          sink.accept(buffer);
        }
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
