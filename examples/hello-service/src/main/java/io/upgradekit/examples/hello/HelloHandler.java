package io.upgradekit.examples.hello;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Serves {@code /}, {@code /health} and {@code /metrics}; counts every request in {@link Metrics}.
 * With a {@link Downstream}, {@code /} asks it first and answers with its own line and the
 * downstream's ({@code api 2.0.0 -> cache 2.0.0 -> database 2.0.0}), or 502 when the downstream
 * failed: its errors become this service's errors. {@code /health} never asks the downstream: a
 * node's health is its own process's, so that a bad release below is not blamed on this one's update.
 */
final class HelloHandler extends Handler.Abstract {
  private static final String PLAIN = "text/plain; charset=utf-8";
  private final HelloService.BuildInfo build;
  private final Metrics metrics;
  private final double errorRate;
  private final long extraLatencyMillis;
  private final Downstream downstream;
  /** When the build's own errors begin ({@link System#nanoTime()}), for a build with an error rate. */
  private final long buildErrorsFromNanos;

  /**
   * @param errorRate the share of {@code /} answered 500 ({@code HELLO_ERROR_RATE}); a build's own
   *     {@link HelloService.BuildInfo#errorRate()} replaces it once its {@code errorsAfterSeconds} passed
   * @param downstream the service {@code /} calls, or null for none
   */
  HelloHandler(HelloService.BuildInfo build, Metrics metrics, double errorRate, long extraLatencyMillis,
      Downstream downstream) {
    this.build = build;
    this.metrics = metrics;
    this.errorRate = errorRate;
    this.extraLatencyMillis = extraLatencyMillis;
    this.downstream = downstream;
    this.buildErrorsFromNanos = System.nanoTime() + build.errorsAfterSeconds() * 1_000_000_000L;
  }

  private double errorRateNow() {
    if (build.errorRate() > 0 && System.nanoTime() - buildErrorsFromNanos >= 0) {
      return build.errorRate();
    }
    return errorRate;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    long start = System.nanoTime();
    metrics.started();
    int status;
    String body;
    String contentType = PLAIN;
    switch (Request.getPathInContext(request)) {
      case "/" -> {
        if (extraLatencyMillis > 0) {
          Thread.sleep(extraLatencyMillis);
        }
        double rate = errorRateNow();
        boolean fail = rate > 0 && ThreadLocalRandom.current().nextDouble() < rate;
        if (!fail && downstream != null) {
          downstream.call().whenComplete((answer, failure) -> {
            if (failure != null || !answer.ok()) {
              metrics.downstreamFailed();
              respond(response, callback, start, HttpStatus.BAD_GATEWAY_502, build.greeting() + " " + build.version()
                  + ": downstream " + (failure != null ? "failed: " + failure : answer.text()) + "\n", PLAIN);
            } else {
              respond(response, callback, start, HttpStatus.OK_200, build.greeting() + " " + build.version() + " -> "
                  + answer.text() + "\n", PLAIN);
            }
          });
          return true;
        }
        status = fail ? HttpStatus.INTERNAL_SERVER_ERROR_500 : HttpStatus.OK_200;
        body = fail ? "injected error\n" : build.greeting() + " " + build.version() + "\n";
      }
      case "/health" -> {
        status = build.healthy() ? HttpStatus.OK_200 : HttpStatus.SERVICE_UNAVAILABLE_503;
        body = (build.healthy() ? "ok " : "unhealthy ") + build.version() + "\n";
      }
      case "/metrics" -> {
        status = HttpStatus.OK_200;
        contentType = "text/plain; version=0.0.4; charset=utf-8";
        body = metrics.prometheusText();
      }
      default -> {
        status = HttpStatus.NOT_FOUND_404;
        body = "not found\n";
      }
    }
    respond(response, callback, start, status, body, contentType);
    return true;
  }

  private void respond(Response response, Callback callback, long start, int status, String body, String contentType) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put("X-Version", build.version());
    response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)),
        Callback.from(callback, () -> metrics.finished(status, System.nanoTime() - start)));
  }
}
