package io.upgradekit.schema.api;

/**
 * {@code POST /v1/sessions}: an operator logs in to the dashboard with the token of their line in
 * the server's {@code --operator-credentials} file. The answer is a {@link Session} and a session
 * cookie. Schema {@code session-request.schema.json}.
 *
 * @param token the operator's token
 */
public record SessionRequest(String token) {
  public SessionRequest {
    Wire.required(token, "token");
    Wire.text(token, "token", 1024);
  }
}
