package io.upgradekit.store.s3;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.SdkHttpResponse;

/**
 * The real HTTP client with faults put in between, as a store under load or a proxy produces
 * them: a request answered with an error status without reaching the store, or one that reaches
 * the store (and takes effect) but whose answer is replaced by an error status. Everything else
 * passes through to the store over the real HTTP path. Records every request it sees.
 */
final class FaultyHttpClient implements SdkHttpClient {
  /** What happens to one request. */
  record Fault(int status, boolean reachesStore) {
    static final Fault NONE = new Fault(0, true);

    static Fault answerWithoutStoring(int status) {
      return new Fault(status, false);
    }

    static Fault storeButAnswer(int status) {
      return new Fault(status, true);
    }
  }

  private final SdkHttpClient real;
  private final Function<SdkHttpRequest, Fault> faults;
  final List<SdkHttpRequest> requests = new CopyOnWriteArrayList<>();

  FaultyHttpClient(SdkHttpClient real, Function<SdkHttpRequest, Fault> faults) {
    this.real = real;
    this.faults = faults;
  }

  @Override
  public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
    requests.add(request.httpRequest());
    Fault fault = faults.apply(request.httpRequest());
    ExecutableHttpRequest passed = fault.reachesStore() ? real.prepareRequest(request) : null;
    return new ExecutableHttpRequest() {
      @Override
      public HttpExecuteResponse call() throws IOException {
        if (fault.status() == 0) {
          return passed.call();
        }
        if (passed != null) {
          HttpExecuteResponse response = passed.call();
          if (response.responseBody().isPresent()) {
            try (InputStream body = response.responseBody().get()) {
              body.readAllBytes();
            }
          }
        }
        byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code(fault.status())
            + "</Code><Message>injected by the test</Message></Error>").getBytes(StandardCharsets.UTF_8);
        return HttpExecuteResponse.builder()
            .response(SdkHttpResponse.builder().statusCode(fault.status()).putHeader("Content-Type", "application/xml")
                .putHeader("Content-Length", String.valueOf(xml.length)).build())
            .responseBody(AbortableInputStream.create(new ByteArrayInputStream(xml)))
            .build();
      }

      @Override
      public void abort() {
        if (passed != null) {
          passed.abort();
        }
      }
    };
  }

  private static String code(int status) {
    return switch (status) {
      case 409 -> "ConditionalRequestConflict";
      case 412 -> "PreconditionFailed";
      case 503 -> "SlowDown";
      default -> "InternalError";
    };
  }

  @Override
  public void close() {
    real.close();
  }
}
