package io.upgradekit.server.http;

import io.upgradekit.server.core.ServerMetrics;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** Counts every answered request by status, and the body bytes sent. */
final class MeteredHandler extends Handler.Wrapper {
  private final ServerMetrics metrics;

  MeteredHandler(Handler handler, ServerMetrics metrics) {
    super(handler);
    this.metrics = metrics;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    return super.handle(request, response, new Callback.Nested(callback) {
      @Override
      public void succeeded() {
        metrics.request(response.getStatus(), Response.getContentBytesWritten(response));
        super.succeeded();
      }

      @Override
      public void failed(Throwable x) {
        metrics.request(response.isCommitted() ? response.getStatus() : 500,
            Response.getContentBytesWritten(response));
        super.failed(x);
      }
    });
  }
}
