package io.upgradekit.examples.hello;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The service this one calls for every {@code /} (a cache calls its database, an API its cache):
 * one or more nodes of it, taken in turn. A node that cannot be reached (refused, reset, timed out)
 * is given up for the next one, once; an answer other than 2xx is the downstream's own error and is
 * reported as it is, so that a bad release below shows up as errors here.
 */
final class Downstream {
  private final List<URI> targets;
  private final Duration timeout;
  private final HttpClient client;
  private final AtomicInteger next = new AtomicInteger();

  Downstream(Settings settings) {
    this.targets = settings.targets();
    this.timeout = settings.timeout();
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
  }

  /**
   * What {@code /} of the downstream answered.
   *
   * @param ok whether it answered 2xx
   * @param text its first line (e.g. {@code database 2.0.0}), or what went wrong (e.g. {@code
   *     http://127.0.0.1:9001/ answered 500}, {@code http://127.0.0.1:9001/ failed: connection refused})
   */
  record Answer(boolean ok, String text) {}

  /** Asks the next node; on a connection failure, the one after it (once). Never fails: the outcome is an {@link Answer}. */
  CompletableFuture<Answer> call() {
    int first = Math.floorMod(next.getAndIncrement(), targets.size());
    return ask(targets.get(first)).thenCompose(attempt -> {
      if (!attempt.unreachable() || targets.size() == 1) {
        return CompletableFuture.completedFuture(attempt.answer());
      }
      return ask(targets.get((first + 1) % targets.size())).thenApply(Attempt::answer);
    });
  }

  /** One node asked: its answer, and whether it could not be reached at all (worth asking another). */
  private record Attempt(Answer answer, boolean unreachable) {}

  private CompletableFuture<Attempt> ask(URI target) {
    HttpRequest request = HttpRequest.newBuilder(target).timeout(timeout).GET().build();
    return client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((response, failure) -> {
      if (failure != null) {
        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
        return new Attempt(new Answer(false, target + " failed: " + describe(cause)), true);
      }
      String line = response.body().lines().findFirst().orElse("").strip();
      if (response.statusCode() / 100 == 2) {
        return new Attempt(new Answer(true, line), false);
      }
      return new Attempt(new Answer(false, target + " answered " + response.statusCode()
          + (line.isEmpty() ? "" : " (" + line + ")")), false);
    });
  }

  private static String describe(Throwable t) {
    String message = t.getMessage();
    if (t instanceof ConnectException) {
      return "connection refused";
    }
    if (t instanceof HttpTimeoutException) {
      return "no answer in time";
    }
    return t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  /**
   * Where the downstream is, from configuration.
   *
   * @param targets its nodes' base URLs, asked in turn
   * @param timeout for connecting and for the whole answer
   */
  record Settings(List<URI> targets, Duration timeout) {
    /** How long a downstream may take when the configuration does not say. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    Settings {
      targets = List.copyOf(targets);
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("a downstream needs at least one URL");
      }
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("downstreamTimeoutMillis must be positive, not " + timeout.toMillis());
      }
    }

    /**
     * Parses {@code http://host:port/[,http://host:port/...]}; blank means no downstream (null).
     *
     * @throws IllegalArgumentException naming the value that is not an http URL
     */
    static Settings parse(String urls, Duration timeout) {
      if (urls == null || urls.isBlank()) {
        return null;
      }
      List<URI> targets = new ArrayList<>();
      for (String part : urls.split(",")) {
        String text = part.strip();
        if (text.isEmpty()) {
          continue;
        }
        URI uri;
        try {
          uri = URI.create(text);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("downstream '" + text + "' is not a URL: write http://HOST:PORT/", e);
        }
        if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
          throw new IllegalArgumentException("downstream '" + text + "' is not an http:// URL with a host:"
              + " write http://HOST:PORT/, several separated by commas");
        }
        targets.add(uri.getPath() == null || uri.getPath().isEmpty() ? uri.resolve("/") : uri);
      }
      return new Settings(targets, timeout);
    }
  }

  @Override
  public String toString() {
    return targets.toString();
  }
}
