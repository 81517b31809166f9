package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.server.core.ServerMetrics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Sends {@code /v1/...} to the API, {@code /metrics} to the metrics, {@code /ui/} to the dashboard,
 * everything else to the files.
 *
 * <p>Declared non-blocking, so that Jetty answers static requests on the thread that parsed them
 * (no hand-off: a 304 costs a cache lookup and one {@code stat}). Everything that may block (the
 * API's body reads and fsyncs, loading a file into the cache) is handed to the thread pool here.
 */
final class Router extends Handler.Abstract.NonBlocking {
  private static final HttpField PROMETHEUS =
      new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");

  private final Api api;
  private final Dashboard dashboard;
  private final StaticFiles files;
  private final ServerMetrics metrics;

  Router(Api api, Dashboard dashboard, StaticFiles files, ServerMetrics metrics) {
    this.api = api;
    this.dashboard = dashboard;
    this.files = files;
    this.metrics = metrics;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    String path = Request.getPathInContext(request);
    if (path.startsWith("/v1/")) {
      execute(request, callback, () -> api.handle(request, response, callback, path));
    } else if (Dashboard.owns(path)) {
      dashboard.handle(request, response, callback, path);
    } else if (path.equals("/metrics")) {
      if (!HttpMethod.GET.is(request.getMethod())) {
        HttpErrors.write(request, response, callback, 405, ErrorCode.REQUEST_INVALID, "use GET /metrics");
        return true;
      }
      byte[] body = metrics.render().getBytes(StandardCharsets.UTF_8);
      response.getHeaders().put(PROMETHEUS);
      response.getHeaders().put(HttpErrors.NO_STORE);
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
      response.write(true, ByteBuffer.wrap(body), callback);
    } else if (!files.handleCached(request, response, callback, path)) {
      execute(request, callback, () -> files.handle(request, response, callback, path));
    }
    return true;
  }

  /** Runs blocking work on the thread pool; a failure fails the request. */
  private static void execute(Request request, Callback callback, Blocking work) {
    request.getComponents().getThreadPool().execute(() -> {
      try {
        work.run();
      } catch (Throwable t) {
        callback.failed(t);
      }
    });
  }

  @FunctionalInterface
  private interface Blocking {
    void run() throws Exception;
  }
}
