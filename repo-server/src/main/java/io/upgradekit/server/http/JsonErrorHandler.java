package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Renders the errors Jetty produces itself (malformed requests, ambiguous URIs, headers too large,
 * failures escaping a handler) as the API's JSON errors instead of HTML pages.
 */
final class JsonErrorHandler extends ErrorHandler {
  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    int status = response.getStatus();
    if (status < 400) {
      status = 500;
    }
    String message = (String) request.getAttribute(ERROR_MESSAGE);
    ErrorCode code = HttpErrors.codeFor(status);
    if (message == null || message.isBlank() || status >= 500) {
      message = status >= 500 ? "the server failed to answer; its log has the details"
          : HttpStatus.getMessage(status);
    }
    // Jetty closes the connection after the errors it produces itself (bad URIs, unread bodies):
    // say so, or a client reusing the connection sees it die.
    response.getHeaders().put(org.eclipse.jetty.http.HttpHeader.CONNECTION, "close");
    HttpErrors.write(request, response, callback, status, code, message);
    return true;
  }

  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(HttpErrors.JSON);
    fields.put(HttpErrors.NO_STORE);
    String message = reason == null ? HttpStatus.getMessage(status) : reason;
    return ByteBuffer.wrap(HttpErrors.body(HttpErrors.codeFor(status), message));
  }
}
