package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Session;
import io.upgradekit.schema.api.SessionRequest;
import io.upgradekit.server.core.Authenticator;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.core.OperatorCredentials;
import io.upgradekit.server.core.Sessions;
import java.util.Locale;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Who an operator request comes from: the CLI's and scripts' {@code Authorization: Bearer <operator
 * token>} (checked by the {@link Authenticator}), or the dashboard's session cookie. A session's
 * actions must also carry its CSRF token in {@value #CSRF_HEADER} and must not come from another
 * site ({@code Sec-Fetch-Site}); the cookie is {@code SameSite=Strict} besides. A bearer token needs
 * no CSRF token: a browser never adds it to a request by itself.
 *
 * <p>Also the dashboard's login ({@code POST /v1/sessions}), the session's description ({@code GET
 * /v1/sessions/current}) and logout ({@code DELETE /v1/sessions/current}).
 */
public final class OperatorAccess {
  /** The session cookie's name. */
  public static final String COOKIE = "upgradekit_session";

  /** The header a dashboard action carries its CSRF token in. */
  public static final String CSRF_HEADER = "X-CSRF-Token";

  private final Authenticator authenticator;
  private final OperatorCredentials operators;
  private final Sessions sessions;

  /**
   * @param operators the operators' credentials, or null (no --operator-credentials)
   * @param sessions the dashboard's sessions, or null when the dashboard is off
   */
  public OperatorAccess(Authenticator authenticator, OperatorCredentials operators, Sessions sessions) {
    this.authenticator = authenticator;
    this.operators = operators;
    this.sessions = sessions;
  }

  /**
   * The operator of a request to the rollout and fleet views ({@code act} false) or actions.
   *
   * @throws UpgradeException AUTH_REQUIRED (no credential, an unknown token, a session that ended),
   *     ACCESS_DENIED (another role's credential, a viewer acting, an action without the session's
   *     CSRF token or from another site)
   */
  Caller.Operator operator(Request request, boolean act) {
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    String id = authorization == null ? sessionId(request) : null;
    if (id == null) {
      return authenticator.operator(authorization, act);
    }
    Sessions.Found found = sessions.find(id, this::operatorOf);
    if (found == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the dashboard session ended (idle too long, logged"
          + " out, the server restarted, or the operator's credential changed): log in again");
    }
    if (act) {
      if (crossSite(request)) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "a dashboard action must come from the dashboard's own"
            + " pages, not from another site");
      }
      if (!found.session().csrfMatches(request.getHeaders().get(CSRF_HEADER))) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "a dashboard action needs the session's CSRF token in"
            + " the " + CSRF_HEADER + " header (reload the dashboard); scripts send 'Authorization: Bearer <operator"
            + " token>' instead");
      }
      if (!found.operator().mayAct()) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "operator " + found.operator().name() + " is a viewer:"
            + " only the operator role may act on rollouts");
      }
    }
    return found.operator();
  }

  private Caller.Operator operatorOf(byte[] digest) {
    return operators == null ? null : operators.matchDigest(digest);
  }

  /** {@code POST /v1/sessions}: checks the token, starts a session, sets its cookie. */
  Session login(Request request, Response response, byte[] body) {
    requireDashboard();
    if (crossSite(request)) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "log in on the dashboard's own page, not from another site");
    }
    SessionRequest login = ApiBody.SESSION_REQUEST.read(body);
    if (operators == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "the dashboard has no operators: start the server with"
          + " --operator-credentials FILE");
    }
    Caller.Operator operator = operators.match(login.token().strip());
    if (operator == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "that is not an operator token of this server (the third"
          + " field of a line in its --operator-credentials file)");
    }
    Sessions.Created created = sessions.create(OperatorCredentials.digest(login.token().strip()));
    response.getHeaders().add(HttpHeader.SET_COOKIE, cookie(request, created.id(),
        Sessions.MAX_LIFETIME.toSeconds()));
    return describe(operator, created.session());
  }

  /** {@code GET /v1/sessions/current}. */
  Session current(Request request) {
    requireDashboard();
    String id = sessionId(request);
    Sessions.Found found = id == null ? null : sessions.find(id, this::operatorOf);
    if (found == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "not logged in to the dashboard: POST /v1/sessions with an"
          + " operator token");
    }
    return describe(found.operator(), found.session());
  }

  /** {@code DELETE /v1/sessions/current}: needs the CSRF token like an action; clears the cookie. */
  void logout(Request request, Response response) {
    requireDashboard();
    String id = sessionId(request);
    if (id == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "not logged in to the dashboard");
    }
    Sessions.Found found = sessions.find(id, this::operatorOf);
    if (found != null && (crossSite(request) || !found.session().csrfMatches(request.getHeaders().get(CSRF_HEADER)))) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "logging out needs the session's CSRF token in the "
          + CSRF_HEADER + " header");
    }
    sessions.remove(id);
    response.getHeaders().add(HttpHeader.SET_COOKIE, cookie(request, "", 0));
  }

  private void requireDashboard() {
    if (sessions == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "the dashboard is off on this server (--dashboard off)");
    }
  }

  private static Session describe(Caller.Operator operator, Sessions.Session session) {
    return new Session(operator.name(), operator.role(), session.csrfToken(), session.expires());
  }

  private String sessionId(Request request) {
    if (sessions == null) {
      return null;
    }
    for (HttpCookie cookie : Request.getCookies(request)) {
      if (COOKIE.equals(cookie.getName()) && !cookie.getValue().isEmpty()) {
        return cookie.getValue();
      }
    }
    return null;
  }

  /** A request a page of another site made the browser send ({@code Sec-Fetch-Site}, sent by current browsers). */
  private static boolean crossSite(Request request) {
    String site = request.getHeaders().get("Sec-Fetch-Site");
    return site != null && !site.equals("same-origin") && !site.equals("none");
  }

  /**
   * The cookie: HttpOnly (scripts cannot read it), SameSite=Strict (no other site's request carries
   * it), Path=/ (the pages under /ui/ and the API under /v1/), and Secure when the request came over
   * TLS, to this server or to a proxy in front that says so ({@code X-Forwarded-Proto: https} or
   * {@code Forwarded: proto=https}).
   */
  static String cookie(Request request, String value, long maxAgeSeconds) {
    return COOKIE + "=" + value + "; Path=/; Max-Age=" + maxAgeSeconds + "; HttpOnly; SameSite=Strict"
        + (secure(request) ? "; Secure" : "");
  }

  static boolean secure(Request request) {
    if (request.isSecure()) {
      return true;
    }
    String proto = request.getHeaders().get("X-Forwarded-Proto");
    if (proto != null && proto.split(",")[0].strip().equalsIgnoreCase("https")) {
      return true;
    }
    String forwarded = request.getHeaders().get(HttpHeader.FORWARDED);
    return forwarded != null && forwarded.toLowerCase(Locale.ROOT).split(",")[0].contains("proto=https");
  }
}
