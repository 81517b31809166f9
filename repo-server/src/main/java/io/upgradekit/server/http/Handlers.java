package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.server.core.ObservedStore;
import io.upgradekit.server.core.ServerMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
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
   * The handler chain over {@code api}, the {@code dashboard} and the repository directory at
   * {@code root}: what is known about a file that may change is checked again after {@code
   * refresh} (one {@code stat}), and dropped on this process's own writes through {@code writers} (see {@link DirectoryFiles}).
   *
   * @param rateLimit requests per second per client address before 429; 0 disables the limit
   * @param minRequestDataRate bytes per second a request body must arrive at, at least; 0 disables
   */
  public static Handler chain(Api api, Dashboard dashboard, Path root, List<ObservedStore> writers,
      Duration refresh, ServerMetrics metrics, int rateLimit, long minRequestDataRate) {
    DirectoryFiles files = new DirectoryFiles(root, refresh, System::nanoTime);
    writers.forEach(writer -> writer.onWrite(files::invalidate));
    return chain(api, dashboard, files, metrics, rateLimit, minRequestDataRate);
  }

  /**
   * The handler chain over {@code api}, the {@code dashboard} and the repository in {@code store}
   * (an object store): the static files come from the store, what is known about them is dropped on
   * this process's own writes through {@code store} and looked up again after {@code maxAge} (see {@link StoreFiles}).
   *
   * @param warn told when the store cannot be reached and a known version is served instead
   */
  public static Handler chain(Api api, Dashboard dashboard, ObservedStore store, Duration maxAge,
      Consumer<String> warn, ServerMetrics metrics, int rateLimit, long minRequestDataRate) {
    StoreFiles files = new StoreFiles(store, maxAge, System::nanoTime, warn);
    store.onWrite(files::invalidate);
    return chain(api, dashboard, files, metrics, rateLimit, minRequestDataRate);
  }

  private static Handler chain(Api api, Dashboard dashboard, StaticFiles.Source files, ServerMetrics metrics,
      int rateLimit, long minRequestDataRate) {
    Handler handler = new Router(api, dashboard, new StaticFiles(files, metrics), metrics);
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
