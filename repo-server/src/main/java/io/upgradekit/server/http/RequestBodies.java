package io.upgradekit.server.http;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Refusals that reach the client. A server that answers before reading the request's body and
 * then closes the connection with that body unread makes the kernel reset it: the client, still
 * sending, sees "broken pipe" or "connection reset" and never reads the 401 (or 413, 404, ...).
 * So before an error answer, the rest of the body is read and discarded, up to {@link
 * #DRAIN_LIMIT} bytes and {@link #DRAIN_DEADLINE_MILLIS} ms; the connection then stays usable.
 * A longer body is not read: the answer says {@code Connection: close} and the client may see a
 * reset; clients that send {@code Expect: 100-continue} (the Maven plugin does) never send a body
 * that is refused, because Jetty sends {@code 100 Continue} only once the handler reads, and a
 * refusal does not read.
 *
 * <p>As a handler, it wraps each request to note whether anyone has read from it, which tells a
 * body that {@code 100 Continue} invited (and that is on its way) from one that the client is
 * still holding back.
 */
final class RequestBodies extends Handler.Wrapper {
  /** The most bytes read and discarded before an error answer. */
  static final long DRAIN_LIMIT = 8L << 20;

  /** The longest time spent discarding a body before an error answer. */
  static final long DRAIN_DEADLINE_MILLIS = 30_000;

  RequestBodies(Handler handler) {
    super(handler);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    return super.handle(new Tracked(request), response, callback);
  }

  /** A request that remembers whether its body was asked for. */
  private static final class Tracked extends Request.Wrapper {
    private volatile boolean read;

    Tracked(Request request) {
      super(request);
    }

    @Override
    public Content.Chunk read() {
      read = true;
      return super.read();
    }

    @Override
    public void demand(Runnable demandCallback) {
      read = true;
      super.demand(demandCallback);
    }
  }

  /**
   * Reads and discards what is left of the request's body, bounded, then calls {@code respond}
   * with whether the connection must be closed after the answer (the body was not read to its
   * end). Calls it at once when there is nothing to read.
   */
  static void discardThen(Request request, Consumer<Boolean> respond) {
    long length = request.getLength();
    if (length == 0) {
      respond.accept(false);
      return;
    }
    Tracked tracked = Request.as(request, Tracked.class);
    boolean awaitingContinue = request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())
        && (tracked == null || !tracked.read);
    if (awaitingContinue || length > DRAIN_LIMIT) {
      // Reading would send "100 Continue" and invite the body; or the body is too long to read.
      respond.accept(true);
      return;
    }
    new Discard(request, respond).start();
  }

  /** Reads chunks and drops them until the end, the limit, a failure or the deadline. */
  private static final class Discard implements Runnable {
    private final Request request;
    private final Consumer<Boolean> respond;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile Scheduler.Task deadline;
    private long discarded;

    Discard(Request request, Consumer<Boolean> respond) {
      this.request = request;
      this.respond = respond;
    }

    void start() {
      deadline = request.getComponents().getScheduler().schedule(() -> finish(true), DRAIN_DEADLINE_MILLIS,
          TimeUnit.MILLISECONDS);
      run();
    }

    @Override
    public void run() {
      while (!finished.get()) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this);
          return;
        }
        if (Content.Chunk.isFailure(chunk)) {
          finish(true);
          return;
        }
        discarded += chunk.remaining();
        boolean last = chunk.isLast();
        chunk.release();
        if (last) {
          finish(false);
          return;
        }
        if (discarded > DRAIN_LIMIT) {
          finish(true);
          return;
        }
      }
    }

    private void finish(boolean close) {
      if (finished.compareAndSet(false, true)) {
        Scheduler.Task task = deadline;
        if (task != null) {
          task.cancel();
        }
        respond.accept(close);
      }
    }
  }
}
