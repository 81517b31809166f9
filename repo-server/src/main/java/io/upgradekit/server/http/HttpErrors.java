package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ApiError;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** The API's error bodies ({@link ApiError}: {@code {"code": "...", "message": "..."}}), and code-to-status mapping. */
final class HttpErrors {
  static final HttpField JSON = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "application/json");
  static final HttpField NO_STORE = new PreEncodedHttpField(HttpHeader.CACHE_CONTROL, "no-store");
  /** A browser must never take an answer for anything but JSON (it may quote what nodes sent). */
  static final HttpField NOSNIFF = new PreEncodedHttpField("X-Content-Type-Options", "nosniff");

  private HttpErrors() {}

  static int status(ErrorCode code) {
    return switch (code) {
      case AUTH_REQUIRED, CREDENTIAL_REVOKED -> 401;
      case ACCESS_DENIED -> 403;
      case NOT_FOUND -> 404;
      case VERSION_EXISTS, REFERENCE_MISSING, SCOPE_FULL, ROLLBACK_REFUSED, LEASE_LOST -> 409;
      case PRECONDITION_FAILED -> 412;
      case BODY_TOO_LARGE, METADATA_TOO_LARGE, QUOTA_EXCEEDED -> 413;
      case PRECONDITION_REQUIRED -> 428;
      case RATE_LIMITED -> 429;
      case IO_ERROR, INTERNAL_ERROR, KEY_INVALID -> 500;
      default -> 400;
    };
  }

  /** The code for a status Jetty produced itself (bad URI, headers too large, ...). */
  static ErrorCode codeFor(int status) {
    return switch (status) {
      case 401 -> ErrorCode.AUTH_REQUIRED;
      case 403 -> ErrorCode.ACCESS_DENIED;
      case 404 -> ErrorCode.NOT_FOUND;
      case 412 -> ErrorCode.PRECONDITION_FAILED;
      case 413, 431 -> ErrorCode.BODY_TOO_LARGE;
      case 429 -> ErrorCode.RATE_LIMITED;
      default -> status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.REQUEST_INVALID;
    };
  }

  static byte[] body(ErrorCode code, String message) {
    return ApiBody.ERROR.write(ApiError.of(code, message));
  }

  static void write(Request request, Response response, Callback callback, ErrorCode code, String message) {
    write(request, response, callback, status(code), code, message);
  }

  /**
   * Answers with an error, after discarding what is left of the request's body (bounded, see
   * {@link RequestBodies}), so that a client still sending it reads the answer instead of a reset.
   */
  static void write(Request request, Response response, Callback callback, int status, ErrorCode code,
      String message) {
    RequestBodies.discardThen(request, close -> writeNow(response, callback, status, code, message, close));
  }

  private static void writeNow(Response response, Callback callback, int status, ErrorCode code, String message,
      boolean close) {
    response.setStatus(status);
    response.getHeaders().put(JSON);
    response.getHeaders().put(NO_STORE);
    response.getHeaders().put(NOSNIFF);
    if (close) {
      // The rest of the body was not read: the connection cannot carry another request.
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
    }
    if (status == 429) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
    }
    byte[] body = body(code, message);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }
}
