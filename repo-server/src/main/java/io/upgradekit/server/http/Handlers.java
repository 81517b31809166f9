package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.server.core.ServerMetrics;
import java.nio.file.Path;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.handler.DoSHandler;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.MinimumDataRateHandler;

/**
 * The HTTP side of the server as Jetty handlers, for the server's assembly: the request chain
 * (metrics, refusals that reach the client, rate limit, minimum data rate, router to the API, the
 * metrics and the static files) and the JSON error pages.
 */
public final class Handlers {
  private Handlers() {}

  /**
   * The handler chain over {@code api}, the {@code dashboard} and the repository at {@code root}.
   *
   * @param rateLimit requests per second per client address before 429; 0 disables the limit
   * @param minRequestDataRate bytes per second a request body must arrive at, at least; 0 disables
   */
  public static Handler chain(Api api, Dashboard dashboard, Path root, ServerMetrics metrics, int rateLimit,
      long minRequestDataRate) {
    Handler handler = new Router(api, dashboard, new StaticFiles(root, metrics), metrics);
    if (minRequestDataRate > 0) {
      handler = new MinimumDataRateHandler(handler, minRequestDataRate, 0);
    }
    if (rateLimit > 0) {
      DoSHandler dos = new DoSHandler(DoSHandler.ID_FROM_REMOTE_ADDRESS,
          new DoSHandler.LeakingBucketTrackerFactory(rateLimit),
          (request, response, callback) -> {
            HttpErrors.write(request, response, callback, 429, ErrorCode.RATE_LIMITED, "more than " + rateLimit
                + " requests per second from this address; slow down and retry");
            return true;
          }, 10_000);
      dos.setHandler(handler);
      handler = dos;
    }
    handler = new RequestBodies(handler);
    return new MeteredHandler(handler, metrics);
  }

  /** Renders the errors Jetty produces itself as the API's JSON errors. */
  public static ErrorHandler errorHandler() {
    return new JsonErrorHandler();
  }
}
