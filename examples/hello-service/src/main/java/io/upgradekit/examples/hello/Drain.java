package io.upgradekit.examples.hello;

import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Drains without failing a request: once draining, every request is still served, and its response
 * says {@code Connection: close}, so keep-alive clients open their next connection to the process
 * that still listens (the new version during an overlap switch) instead of getting a 503 or a reset.
 */
final class Drain extends Handler.Wrapper {
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean draining;
  private volatile long lastRequestNanos = System.nanoTime();

  Drain(Handler handler) {
    super(handler);
  }

  void begin() {
    draining = true;
  }

  int inFlight() {
    return inFlight.get();
  }

  /** Nanoseconds since a request last arrived. */
  long quietNanos() {
    return System.nanoTime() - lastRequestNanos;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    lastRequestNanos = System.nanoTime();
    if (draining) {
      response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
    }
    inFlight.incrementAndGet();
    Callback counted = Callback.from(callback, inFlight::decrementAndGet);
    try {
      if (super.handle(request, response, counted)) {
        return true;
      }
    } catch (Exception | Error e) {
      inFlight.decrementAndGet();
      throw e;
    }
    inFlight.decrementAndGet();
    return false;
  }
}
