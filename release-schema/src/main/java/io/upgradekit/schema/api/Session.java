package io.upgradekit.schema.api;

import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * The dashboard's session: the answer to {@code POST /v1/sessions} (a login) and {@code GET
 * /v1/sessions/current}. The session itself is an HttpOnly cookie the page cannot read; the page
 * sends {@code csrfToken} back in the {@code X-CSRF-Token} header of every action, which a page of
 * another site cannot do. Schema {@code session.schema.json}.
 *
 * @param operator the operator's name (the actor recorded with their actions)
 * @param role {@code operator} (may act) or {@code viewer} (reads only)
 * @param csrfToken the token actions carry in {@code X-CSRF-Token}
 * @param expires when the session ends at the latest (it ends earlier when idle)
 */
public record Session(String operator, String role, String csrfToken, Instant expires) {
  /** 32 random bytes, unpadded base64url. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{43}");

  public Session {
    if (operator == null || !Names.isLowercaseName(operator)) {
      throw Wire.malformed("operator must be an operator's name");
    }
    if (!"operator".equals(role) && !"viewer".equals(role)) {
      throw Wire.malformed("role must be operator or viewer");
    }
    if (csrfToken == null || !TOKEN.matcher(csrfToken).matches()) {
      throw Wire.malformed("csrfToken must be 43 base64url characters");
    }
    Wire.required(expires, "expires");
  }
}
