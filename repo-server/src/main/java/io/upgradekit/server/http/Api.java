package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.server.core.BoundedInputStream;
import io.upgradekit.server.core.ClaimService;
import io.upgradekit.server.core.FeedbackService;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.core.NodeCredentials;
import io.upgradekit.server.core.PublishService;
import io.upgradekit.server.core.PublisherToken;
import io.upgradekit.server.core.TrustStore;
import io.upgradekit.server.core.ServerMetrics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API under {@code /v1/}: a thin adapter that authenticates, bounds and reads the body,
 * calls the library services and maps their {@link UpgradeException} codes to HTTP statuses.
 *
 * <pre>
 * PUT  /v1/blobs/&lt;sha256&gt;                    publisher   blob bytes
 * PUT  /v1/apps/&lt;app&gt;/releases/&lt;version&gt;    publisher   signed release manifest envelope
 * PUT  /v1/apps/&lt;app&gt;/channels/&lt;channel&gt;    publisher   signed channel pointer (If-Match / If-None-Match: *)
 * PUT  /v1/roots/&lt;n&gt;                         publisher   signed trust root version n
 * POST /v1/claims                            node or publisher   {app, version, scope, node}
 * POST /v1/feedback                          node        a feedback report
 * GET  /v1/status                            -           fleet inventory
 * GET  /v1/whoami                            node or publisher   who the credentials are (a cheap check)
 * </pre>
 */
final class Api {
  private static final Logger LOG = LoggerFactory.getLogger(Api.class);
  private static final int CLAIM_BODY_LIMIT = 4 * 1024;

  /** The body of {@code POST /v1/claims}. */
  record ClaimRequest(String app, String version, String scope, String node) {}

  private final PublishService publish;
  private final ClaimService claims;
  private final FeedbackService feedback;
  private final FleetIndex fleet;
  private final TrustStore trust;
  private final PublisherToken publisherToken;
  private final NodeCredentials nodeCredentials;
  private final ServerMetrics metrics;
  private final Clock clock;

  Api(PublishService publish, ClaimService claims, FeedbackService feedback, FleetIndex fleet, TrustStore trust,
      PublisherToken publisherToken, NodeCredentials nodeCredentials, ServerMetrics metrics, Clock clock) {
    this.publish = publish;
    this.claims = claims;
    this.feedback = feedback;
    this.fleet = fleet;
    this.trust = trust;
    this.publisherToken = publisherToken;
    this.nodeCredentials = nodeCredentials;
    this.metrics = metrics;
    this.clock = clock;
  }

  void handle(Request request, Response response, Callback callback, String path) {
    String[] s = path.split("/", -1); // "", "v1", ...
    String method = request.getMethod();
    try {
      if (s.length == 3 && s[2].equals("status")) {
        requireMethod(method, HttpMethod.GET);
        ok(response, callback, 200, fleet.status(clock.instant()), null);
      } else if (s.length == 3 && s[2].equals("whoami")) {
        requireMethod(method, HttpMethod.GET);
        whoami(request, response, callback);
      } else if (s.length == 3 && s[2].equals("claims")) {
        requireMethod(method, HttpMethod.POST);
        claim(request, response, callback);
      } else if (s.length == 3 && s[2].equals("feedback")) {
        requireMethod(method, HttpMethod.POST);
        feedback(request, response, callback);
      } else if (s.length == 4 && s[2].equals("blobs")) {
        requireMethod(method, HttpMethod.PUT);
        requirePublisher(request);
        long length = request.getLength();
        if (length > publish.maxBlobBytes()) {
          throw tooLarge("the blob", length, publish.maxBlobBytes());
        }
        PublishService.Outcome outcome = publish.putBlob(s[3], Content.Source.asInputStream(request));
        published(response, callback, outcome);
      } else if (s.length == 6 && s[2].equals("apps") && s[4].equals("releases")) {
        requireMethod(method, HttpMethod.PUT);
        requirePublisher(request);
        byte[] body = readBody(request, DocumentType.RELEASE.maxBytes(), "the release manifest");
        published(response, callback, publish.putRelease(s[3], s[5], body));
      } else if (s.length == 6 && s[2].equals("apps") && s[4].equals("channels")) {
        requireMethod(method, HttpMethod.PUT);
        requirePublisher(request);
        byte[] body = readBody(request, DocumentType.CHANNEL.maxBytes(), "the channel pointer");
        PublishService.Precondition precondition = new PublishService.Precondition(
            request.getHeaders().get(HttpHeader.IF_MATCH), request.getHeaders().get(HttpHeader.IF_NONE_MATCH));
        published(response, callback, publish.putChannel(s[3], s[5], body, precondition));
      } else if (s.length == 4 && s[2].equals("roots")) {
        requireMethod(method, HttpMethod.PUT);
        requirePublisher(request);
        long version = parseRootVersion(s[3]);
        byte[] body = readBody(request, DocumentType.ROOT.maxBytes(), "the trust root");
        boolean created = trust.publish(version, body);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("created", created);
        result.put("version", version);
        ok(response, callback, created ? 201 : 200, result, null);
      } else {
        throw new UpgradeException(ErrorCode.NOT_FOUND, "no API at " + StaticFiles.printable(path)
            + "; see docs/repo-server.md for the endpoints");
      }
    } catch (UpgradeException e) {
      HttpErrors.write(request, response, callback, e.code(), e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.warn("{} {} failed", method, StaticFiles.printable(path), e);
      ErrorCode code = e instanceof IOException ? ErrorCode.IO_ERROR : ErrorCode.INTERNAL_ERROR;
      HttpErrors.write(request, response, callback, code, "the request failed on the server ("
          + e.getClass().getSimpleName() + "); its log has the details");
    }
  }

  private void claim(Request request, Response response, Callback callback) throws IOException {
    try {
      Caller caller = nodeOrPublisher(request);
      byte[] body = readBody(request, CLAIM_BODY_LIMIT, "the claim request");
      ClaimRequest claim = Json.read(body, ClaimRequest.class, "claim request");
      if (caller.node != null && !caller.node.equals(claim.node())) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + caller.node + " cannot claim for node "
            + StaticFiles.printable(String.valueOf(claim.node())));
      }
      ClaimService.Result result = claims.claim(claim.app(), claim.version(), claim.scope(), claim.node());
      metrics.claim(result.created() ? "created" : "existing");
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("type", result.claim().type());
      view.put("app", result.claim().app());
      view.put("version", result.claim().version());
      view.put("scope", result.claim().scope());
      view.put("slot", result.claim().slot());
      view.put("node", result.claim().node());
      view.put("claimedAt", result.claim().claimedAt().toString());
      view.put("capacity", result.capacity());
      view.put("created", result.created());
      ok(response, callback, result.created() ? 201 : 200, view, null);
    } catch (UpgradeException e) {
      metrics.claim(e.code() == ErrorCode.SCOPE_FULL ? "full" : "refused");
      throw e;
    }
  }

  /** Lets a client check its credentials before it sends anything large; the publisher also learns the limits. */
  private void whoami(Request request, Response response, Callback callback) {
    if (request.getHeaders().get(HttpHeader.AUTHORIZATION) == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "send 'Authorization: Bearer <publisher token>' or"
          + " 'Authorization: Basic base64(<node>:<credential>)'");
    }
    Caller caller = nodeOrPublisher(request);
    Map<String, Object> view = new LinkedHashMap<>();
    if (caller.publisher) {
      view.put("caller", "publisher");
      view.put("maxBlobSize", publish.maxBlobBytes());
    } else {
      view.put("caller", "node");
      view.put("node", caller.node);
    }
    ok(response, callback, 200, view, null);
  }

  private void feedback(Request request, Response response, Callback callback) throws IOException {
    try {
      String node = requireNode(request);
      byte[] body = readBody(request, DocumentType.FEEDBACK.maxBytes(), "the feedback report");
      FeedbackService.Result result = feedback.store(node, body);
      metrics.feedback(result.stored() ? "stored" : "duplicate");
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("stored", result.stored());
      view.put("path", result.path());
      ok(response, callback, result.stored() ? 201 : 200, view, null);
    } catch (UpgradeException e) {
      metrics.feedback("refused");
      throw e;
    }
  }

  private static void published(Response response, Callback callback, PublishService.Outcome outcome) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("created", outcome.created());
    view.put("path", outcome.path());
    view.put("etag", outcome.etag());
    ok(response, callback, outcome.created() ? 201 : 200, view, outcome.etag());
  }

  private static void ok(Response response, Callback callback, int status, Object body, String etag) {
    byte[] bytes = Json.canonicalBytes(body);
    response.setStatus(status);
    response.getHeaders().put(HttpErrors.JSON);
    response.getHeaders().put(HttpErrors.NO_STORE);
    if (etag != null) {
      response.getHeaders().put(HttpHeader.ETAG, etag);
    }
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private static void requireMethod(String method, HttpMethod expected) {
    if (!expected.is(method)) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, method + " is not allowed here; use " + expected);
    }
  }

  private static long parseRootVersion(String text) {
    if (!text.matches("[1-9][0-9]{0,17}")) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "trust root version '" + StaticFiles.printable(text)
          + "' must be a positive decimal number");
    }
    return Long.parseLong(text);
  }

  static byte[] readBody(Request request, long limit, String what) throws IOException {
    long length = request.getLength();
    if (length > limit) {
      throw tooLarge(what, length, limit);
    }
    return BoundedInputStream.readAll(Content.Source.asInputStream(request), limit, what);
  }

  private static UpgradeException tooLarge(String what, long length, long limit) {
    return new UpgradeException(ErrorCode.BODY_TOO_LARGE, what + " is " + length + " bytes, more than the "
        + limit + "-byte limit");
  }

  /** Who sent a request: the publisher, or a node. */
  private record Caller(boolean publisher, String node) {}

  private void requirePublisher(Request request) {
    if (publisherToken == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "publishing is disabled on this server: start it with"
          + " --publish-token-file FILE or the UPGRADEKIT_PUBLISH_TOKEN environment variable");
    }
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    String token = scheme(authorization, "Bearer");
    if (token == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "publishing needs 'Authorization: Bearer <token>'"
          + " with the server's publisher token");
    }
    if (!publisherToken.matches(token)) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the publisher token is not valid");
    }
  }

  private String requireNode(Request request) {
    if (nodeCredentials == null) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node reports are disabled on this server: start it"
          + " with --node-secret-file FILE");
    }
    String basic = scheme(request.getHeaders().get(HttpHeader.AUTHORIZATION), "Basic");
    if (basic == null) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "a node authenticates with 'Authorization: Basic"
          + " base64(<node>:<credential>)'; derive the credential with the server's node-credential command");
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(basic.trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the Basic credentials are not valid base64");
    }
    int colon = decoded.indexOf(':');
    String node = colon < 0 ? decoded : decoded.substring(0, colon);
    String credential = colon < 0 ? null : decoded.substring(colon + 1);
    switch (nodeCredentials.check(node, credential)) {
      case VALID -> {
        return node;
      }
      case REVOKED -> throw new UpgradeException(ErrorCode.CREDENTIAL_REVOKED, "the credential of node '" + node
          + "' was revoked on this server; the operator re-admits the node with 'repo-server node-credential"
          + " --readmit " + node + "', which prints its new credential to install as node.credential");
      default -> throw new UpgradeException(ErrorCode.AUTH_REQUIRED, "the credential of node '"
          + StaticFiles.printable(node) + "' is not valid");
    }
  }

  private Caller nodeOrPublisher(Request request) {
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (scheme(authorization, "Bearer") != null) {
      requirePublisher(request);
      return new Caller(true, null);
    }
    return new Caller(false, requireNode(request));
  }

  /** The credentials after {@code <scheme> }, or null if the header is absent or another scheme. */
  private static String scheme(String authorization, String scheme) {
    if (authorization == null || authorization.length() <= scheme.length() + 1
        || !authorization.regionMatches(true, 0, scheme, 0, scheme.length())
        || authorization.charAt(scheme.length()) != ' ') {
      return null;
    }
    return authorization.substring(scheme.length() + 1).trim();
  }
}
