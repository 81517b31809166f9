package io.upgradekit.server.http;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ClaimGrant;
import io.upgradekit.schema.api.ClaimRequest;
import io.upgradekit.schema.api.FeedbackResult;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.api.PublishResult;
import io.upgradekit.schema.api.TrustRootResult;
import io.upgradekit.schema.api.Whoami;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.server.core.Authenticator;
import io.upgradekit.server.core.BoundedInputStream;
import io.upgradekit.server.core.Caller;
import io.upgradekit.server.core.ClaimService;
import io.upgradekit.server.core.FeedbackService;
import io.upgradekit.server.core.ExpiryWatch;
import io.upgradekit.server.core.FleetIndex;
import io.upgradekit.server.core.Printable;
import io.upgradekit.server.core.PublishService;
import io.upgradekit.server.core.ServerMetrics;
import io.upgradekit.server.core.TrustStore;
import io.upgradekit.server.core.ReleaseCatalog;
import io.upgradekit.server.fleet.FleetEndpoints;
import io.upgradekit.server.fleet.FleetViews;
import io.upgradekit.server.fleet.InventoryQuery;
import io.upgradekit.schema.api.NodeHistory;
import io.upgradekit.schema.api.RolloutReport;
import org.eclipse.jetty.util.Fields;
import io.upgradekit.server.fleet.LeaseService;
import io.upgradekit.server.fleet.NodeCalls;
import io.upgradekit.schema.api.NodeCall;
import java.time.Duration;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API under {@code /v1/}: routing, body reading and mapping. It routes by method and
 * path, asks the {@link Authenticator} for the caller the endpoint serves, reads the body bounded
 * (and, for JSON, strictly: {@link ApiBody}), calls the core service with the caller, and maps the
 * result to its {@code io.upgradekit.schema.api} record and its {@link UpgradeException} codes to
 * HTTP statuses ({@link HttpErrors}). Rules about callers (a node claims only for itself) are the
 * services'.
 *
 * <pre>
 * PUT  /v1/blobs/&lt;sha256&gt;                    publisher   blob bytes
 * PUT  /v1/apps/&lt;app&gt;/releases/&lt;version&gt;    publisher   signed release manifest envelope
 * PUT  /v1/apps/&lt;app&gt;/channels/&lt;channel&gt;    publisher   signed channel pointer (If-Match / If-None-Match: *)
 * PUT  /v1/sets/&lt;name&gt;/&lt;version&gt;           publisher   signed release set (its components' releases published)
 * PUT  /v1/roots/&lt;n&gt;                         publisher   signed trust root version n
 * POST /v1/claims                            node or publisher   {app, version, scope, node}
 * POST /v1/feedback                          node        a feedback report
 * GET  /v1/status                            -           fleet inventory
 * GET  /v1/whoami                            node or publisher   who the credentials are (a cheap check)
 * POST /v1/heartbeats                        node        a heartbeat (the node's own)
 * POST /v1/leases[/confirm|/release]         node        a lease request (the node's own)
 * GET  /v1/calls?app=&amp;channel=&amp;version=&amp;after=&amp;wait=  node   held until a rollout calls the node (or the wait ends)
 * GET  /v1/rollouts[/&lt;app&gt;/&lt;version&gt;]       operator or viewer  the rollouts, one rollout's report
 * GET  /v1/rollouts/&lt;app&gt;/&lt;version&gt;/series  operator or viewer  the canary judge's figures over time
 * POST /v1/rollouts/&lt;app&gt;/&lt;version&gt;/actions operator    a rollout action (stored as a decision)
 * GET  /v1/sets[/&lt;name&gt;/&lt;version&gt;]          operator or viewer  the running release sets, one set's report
 * POST /v1/sets/&lt;name&gt;/&lt;version&gt;/actions    operator    a set action: pause, resume, halt, recall (a set decision)
 * GET  /v1/inventory?...                     operator or viewer  one page of the fleet, filtered and sorted
 * GET  /v1/nodes/&lt;node&gt;                      operator or viewer  a node's entries and events with step trails
 * GET  /v1/releases                          operator or viewer  channels, releases, sizes, signatures, expiry
 * GET  /v1/expiries                          operator or viewer  the signed documents nodes depend on, expiry warnings
 * POST /v1/sessions, GET|DELETE /v1/sessions/current   the dashboard's login, session and logout
 * </pre>
 *
 * <p>Operators authenticate with a bearer token or the dashboard's session cookie ({@link
 * OperatorAccess}). The read answers of the operator endpoints carry an ETag, and answer 304 to an
 * {@code If-None-Match} that names it, so that polling them costs little while nothing changes.
 */
public final class Api {
  private static final Logger LOG = LoggerFactory.getLogger(Api.class);

  private final PublishService publish;
  private final ClaimService claims;
  private final FeedbackService feedback;
  private final FleetIndex fleet;
  private final TrustStore trust;
  private final Authenticator authenticator;
  private final ServerMetrics metrics;
  private final Clock clock;
  private final FleetEndpoints rollouts;
  private final OperatorAccess operators;
  private final ReleaseCatalog releases;
  private final ExpiryWatch expiries;

  public Api(PublishService publish, ClaimService claims, FeedbackService feedback, FleetIndex fleet, TrustStore trust,
      Authenticator authenticator, ServerMetrics metrics, Clock clock, FleetEndpoints rollouts,
      OperatorAccess operators, ReleaseCatalog releases, ExpiryWatch expiries) {
    this.rollouts = rollouts;
    this.expiries = expiries;
    this.operators = operators;
    this.releases = releases;
    this.publish = publish;
    this.claims = claims;
    this.feedback = feedback;
    this.fleet = fleet;
    this.trust = trust;
    this.authenticator = authenticator;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** The status's expiry warnings; the fleet's status is answered even when they cannot be read (absent then). */
  private java.util.List<io.upgradekit.schema.api.DocumentExpiries.Document> expiring() {
    try {
      return expiries.warnings();
    } catch (java.io.IOException | RuntimeException e) {
      LOG.warn("the signed documents' expiry cannot be read for /v1/status: {}", e.toString());
      return null;
    }
  }

  void handle(Request request, Response response, Callback callback, String path) {
    String[] s = path.split("/", -1); // "", "v1", ...
    String method = request.getMethod();
    try {
      if (s.length == 3 && s[2].equals("status")) {
        requireMethod(method, HttpMethod.GET);
        ok(response, callback, 200, ApiBody.FLEET_STATUS.write(fleet.status(clock.instant())
            .withController(rollouts.controller().get()).withExpiring(expiring())), null);
      } else if (s.length == 3 && s[2].equals("heartbeats")) {
        requireMethod(method, HttpMethod.POST);
        heartbeat(request, response, callback);
      } else if (s.length == 3 && s[2].equals("calls")) {
        requireMethod(method, HttpMethod.GET);
        call(request, response, callback);
      } else if (s.length >= 3 && s.length <= 4 && s[2].equals("leases")) {
        requireMethod(method, HttpMethod.POST);
        lease(request, response, callback, s.length == 3 ? "ask" : s[3]);
      } else if (s.length == 3 && s[2].equals("rollouts")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        read(request, response, callback, ApiBody.ROLLOUT_LIST.write(rollouts.operations().list()));
      } else if (s.length == 5 && s[2].equals("rollouts")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        RolloutReport report = rollouts.operations().report(Names.requireApp(s[3]), Names.requireVersion(s[4]));
        String perWave = Request.extractQueryParameters(request).getValue("nodesPerWave");
        if (perWave != null) {
          report = FleetViews.limitNodes(report, count(perWave, "nodesPerWave", 1, 1_000_000));
        }
        read(request, response, callback, ApiBody.ROLLOUT_REPORT.write(report));
      } else if (s.length == 6 && s[2].equals("rollouts") && s[5].equals("series")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        read(request, response, callback, ApiBody.ROLLOUT_SERIES.write(rollouts.views().series(
            Names.requireApp(s[3]), Names.requireVersion(s[4]))));
      } else if (s.length == 3 && s[2].equals("inventory")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        Fields query = Request.extractQueryParameters(request);
        read(request, response, callback, ApiBody.INVENTORY_PAGE.write(rollouts.views().inventory(
            InventoryQuery.parse(query::getValue))));
      } else if (s.length == 4 && s[2].equals("nodes")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        String events = Request.extractQueryParameters(request).getValue("events");
        read(request, response, callback, ApiBody.NODE_HISTORY.write(rollouts.views().node(Names.requireNodeId(s[3]),
            events == null ? FleetViews.DEFAULT_EVENTS : count(events, "events", 1, NodeHistory.MAX_EVENTS))));
      } else if (s.length == 3 && s[2].equals("releases")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        read(request, response, callback, ApiBody.RELEASE_OVERVIEW.write(releases.overview()));
      } else if (s.length == 3 && s[2].equals("expiries")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        read(request, response, callback, ApiBody.DOCUMENT_EXPIRIES.write(expiries.expiries()));
      } else if (s.length == 3 && s[2].equals("sessions")) {
        requireMethod(method, HttpMethod.POST);
        byte[] body = readBody(request, ApiBody.SESSION_REQUEST.maxBytes(), "the login");
        ok(response, callback, 201, ApiBody.SESSION.write(operators.login(request, response, body)), null);
      } else if (s.length == 4 && s[2].equals("sessions") && s[3].equals("current")) {
        if (HttpMethod.DELETE.is(method)) {
          operators.logout(request, response);
          response.setStatus(204);
          response.getHeaders().put(HttpErrors.NO_STORE);
          callback.succeeded();
        } else {
          requireMethod(method, HttpMethod.GET);
          ok(response, callback, 200, ApiBody.SESSION.write(operators.current(request)), null);
        }
      } else if (s.length == 6 && s[2].equals("rollouts") && s[5].equals("actions")) {
        requireMethod(method, HttpMethod.POST);
        Caller.Operator operator = operators.operator(request, true);
        String app = Names.requireApp(s[3]);
        String version = Names.requireVersion(s[4]);
        byte[] body = readBody(request, ApiBody.ROLLOUT_ACTION.maxBytes(), "the rollout action");
        RolloutAction action = ApiBody.ROLLOUT_ACTION.read(body);
        var acted = rollouts.operations().act(operator, app, version, action);
        metrics.rolloutAction(action.action().name().toLowerCase(java.util.Locale.ROOT));
        LOG.info("{} {} {}: {} by {} ({})", app, version, acted.decision().sequence(), acted.decision().kind(),
            operator.name(), action.reason());
        ok(response, callback, 201, Json.canonicalBytes(acted.decision()), null);
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
        authenticator.publisher(authorization(request));
        long length = request.getLength();
        if (length > publish.maxBlobBytes()) {
          throw tooLarge("the blob", length, publish.maxBlobBytes());
        }
        PublishService.Outcome outcome = publish.putBlob(s[3], Content.Source.asInputStream(request));
        published(response, callback, outcome);
      } else if (s.length == 6 && s[2].equals("apps") && s[4].equals("releases")) {
        requireMethod(method, HttpMethod.PUT);
        authenticator.publisher(authorization(request));
        byte[] body = readBody(request, DocumentType.RELEASE.maxBytes(), "the release manifest");
        published(response, callback, publish.putRelease(s[3], s[5], body));
      } else if (s.length == 6 && s[2].equals("apps") && s[4].equals("channels")) {
        requireMethod(method, HttpMethod.PUT);
        authenticator.publisher(authorization(request));
        byte[] body = readBody(request, DocumentType.CHANNEL.maxBytes(), "the channel pointer");
        PublishService.Precondition precondition = new PublishService.Precondition(
            request.getHeaders().get(HttpHeader.IF_MATCH), request.getHeaders().get(HttpHeader.IF_NONE_MATCH));
        published(response, callback, publish.putChannel(s[3], s[5], body, precondition));
      } else if (s.length == 3 && s[2].equals("sets")) {
        requireMethod(method, HttpMethod.GET);
        operators.operator(request, false);
        read(request, response, callback, ApiBody.SET_LIST.write(rollouts.sets().list()));
      } else if (s.length == 5 && s[2].equals("sets") && HttpMethod.GET.is(method)) {
        operators.operator(request, false);
        read(request, response, callback, ApiBody.SET_REPORT.write(rollouts.sets().report(
            Names.requireSetName(s[3]), Names.requireVersion(s[4]))));
      } else if (s.length == 6 && s[2].equals("sets") && s[5].equals("actions")) {
        requireMethod(method, HttpMethod.POST);
        Caller.Operator operator = operators.operator(request, true);
        String name = Names.requireSetName(s[3]);
        String version = Names.requireVersion(s[4]);
        byte[] body = readBody(request, ApiBody.ROLLOUT_ACTION.maxBytes(), "the set action");
        RolloutAction action = ApiBody.ROLLOUT_ACTION.read(body);
        SetDecision acted = rollouts.sets().act(operator, name, version, action);
        metrics.rolloutAction(action.action().name().toLowerCase(java.util.Locale.ROOT));
        LOG.info("release set {} {} {}: {} by {} ({})", name, version, acted.sequence(), acted.kindName(),
            operator.name(), action.reason());
        ok(response, callback, 201, Json.canonicalBytes(acted), null);
      } else if (s.length == 5 && s[2].equals("sets")) {
        requireMethod(method, HttpMethod.PUT);
        authenticator.publisher(authorization(request));
        byte[] body = readBody(request, DocumentType.RELEASE_SET.maxBytes(), "the release set");
        published(response, callback, publish.putReleaseSet(s[3], s[4], body));
      } else if (s.length == 4 && s[2].equals("roots")) {
        requireMethod(method, HttpMethod.PUT);
        authenticator.publisher(authorization(request));
        long version = parseRootVersion(s[3]);
        byte[] body = readBody(request, DocumentType.ROOT.maxBytes(), "the trust root");
        boolean created = trust.publish(version, body);
        ok(response, callback, created ? 201 : 200,
            ApiBody.TRUST_ROOT_RESULT.write(new TrustRootResult(created, version)), null);
      } else {
        throw new UpgradeException(ErrorCode.NOT_FOUND, "no API at " + Printable.of(path)
            + "; see docs/repo-server.md for the endpoints");
      }
    } catch (UpgradeException e) {
      HttpErrors.write(request, response, callback, e.code(), e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.warn("{} {} failed", method, Printable.of(path), e);
      ErrorCode code = e instanceof IOException ? ErrorCode.IO_ERROR : ErrorCode.INTERNAL_ERROR;
      HttpErrors.write(request, response, callback, code, "the request failed on the server ("
          + e.getClass().getSimpleName() + "); its log has the details");
    }
  }

  private void claim(Request request, Response response, Callback callback) throws IOException {
    try {
      Caller caller = authenticator.nodeOrPublisher(authorization(request));
      byte[] body = readBody(request, ApiBody.CLAIM_REQUEST.maxBytes(), "the claim request");
      ClaimRequest claim = ApiBody.CLAIM_REQUEST.read(body);
      ClaimService.Result result = claims.claim(caller, claim);
      metrics.claim(result.created() ? "created" : "existing");
      ClaimGrant grant = ClaimGrant.of(result.claim(), result.capacity(), result.created());
      ok(response, callback, result.created() ? 201 : 200, ApiBody.CLAIM_GRANT.write(grant), null);
    } catch (UpgradeException e) {
      metrics.claim(e.code() == ErrorCode.SCOPE_FULL ? "full" : "refused");
      throw e;
    }
  }

  /** Lets a client check its credentials before it sends anything large; the publisher also learns the limits. */
  private void whoami(Request request, Response response, Callback callback) {
    Caller caller = authenticator.identify(authorization(request));
    Whoami answer;
    if (caller instanceof Caller.Node node) {
      answer = Whoami.node(node.id());
    } else if (caller instanceof Caller.Publisher) {
      answer = Whoami.publisher(publish.maxBlobBytes());
    } else {
      answer = new Whoami(caller.role(), null, null);
    }
    ok(response, callback, 200, ApiBody.WHOAMI.write(answer), null);
  }

  private void feedback(Request request, Response response, Callback callback) throws IOException {
    try {
      Caller.Node node = authenticator.node(authorization(request));
      byte[] body = readBody(request, DocumentType.FEEDBACK.maxBytes(), "the feedback report");
      FeedbackService.Result result = feedback.store(node, body);
      metrics.feedback(result.stored() ? "stored" : "duplicate");
      ok(response, callback, result.stored() ? 201 : 200,
          ApiBody.FEEDBACK_RESULT.write(new FeedbackResult(result.stored(), result.path())), null);
    } catch (UpgradeException e) {
      metrics.feedback("refused");
      throw e;
    }
  }

  private void heartbeat(Request request, Response response, Callback callback) throws IOException {
    try {
      Caller.Node node = authenticator.node(authorization(request));
      byte[] body = readBody(request, ApiBody.HEARTBEAT.maxBytes(), "the heartbeat");
      ok(response, callback, 200, ApiBody.HEARTBEAT_RESULT.write(rollouts.heartbeats().accept(node, body)), null);
      metrics.heartbeat("accepted");
    } catch (UpgradeException e) {
      metrics.heartbeat("refused");
      throw e;
    }
  }

  /** {@code GET /v1/calls}: answered now, or held without a thread until a rollout calls the node or the wait ends. */
  private void call(Request request, Response response, Callback callback) {
    Caller.Node node = authenticator.node(authorization(request));
    Fields query = Request.extractQueryParameters(request);
    String app = Names.requireApp(required(query, "app"));
    String channel = Names.requireChannel(required(query, "channel"));
    String version = query.getValue("version");
    if (version != null) {
      Names.requireVersion(version);
    }
    String after = query.getValue("after");
    if (after != null && (after.isEmpty() || after.length() > NodeCall.MAX_TOKEN)) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, "after must be the token of a call (1 to "
          + NodeCall.MAX_TOKEN + " characters)");
    }
    String wait = query.getValue("wait");
    Duration asked = Duration.ofSeconds(wait == null ? 0 : count(wait, "wait", 0, 3600));
    rollouts.calls().await(node, new NodeCalls.Request(node.id(), app, channel, version, after), asked,
        call -> ok(response, callback, 200, ApiBody.NODE_CALL.write(call), null));
  }

  private static String required(Fields query, String name) {
    String value = query.getValue(name);
    if (value == null) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, "the query names no " + name + " (GET /v1/calls?app="
          + "&channel=&version=&after=&wait=)");
    }
    return value;
  }

  private void lease(Request request, Response response, Callback callback, String what) throws IOException {
    Caller.Node node = authenticator.node(authorization(request));
    byte[] body = readBody(request, ApiBody.LEASE_REQUEST.maxBytes(), "the lease request");
    LeaseRequest lease = ApiBody.LEASE_REQUEST.read(body);
    LeaseService.Answer answer = switch (what) {
      case "ask" -> rollouts.leases().ask(node, lease);
      case "confirm" -> rollouts.leases().confirm(node, lease);
      case "release" -> rollouts.leases().release(node, lease);
      default -> throw new UpgradeException(ErrorCode.NOT_FOUND, "no API at /v1/leases/" + Printable.of(what)
          + "; use /v1/leases, /v1/leases/confirm or /v1/leases/release");
    };
    metrics.lease(answer.body().status().name().toLowerCase(java.util.Locale.ROOT));
    ok(response, callback, answer.status(), ApiBody.LEASE_ANSWER.write(answer.body()), null);
  }

  private static void published(Response response, Callback callback, PublishService.Outcome outcome) {
    PublishResult result = new PublishResult(outcome.created(), outcome.path(), outcome.etag());
    ok(response, callback, outcome.created() ? 201 : 200, ApiBody.PUBLISH_RESULT.write(result), outcome.etag());
  }

  /** A read answer with its ETag, or 304 when the client holds it already. */
  private static void read(Request request, Response response, Callback callback, byte[] bytes) {
    String etag = Conditional.etag(bytes);
    if (Conditional.notModified(request, etag)) {
      response.setStatus(304);
      response.getHeaders().put(HttpErrors.NO_STORE);
      response.getHeaders().put(HttpHeader.ETAG, etag);
      callback.succeeded();
      return;
    }
    ok(response, callback, 200, bytes, etag);
  }

  private static int count(String text, String name, int min, int max) {
    if (!text.matches("[0-9]{1,9}") || Integer.parseInt(text) < min || Integer.parseInt(text) > max) {
      throw new UpgradeException(ErrorCode.REQUEST_INVALID, name + " must be a number from " + min + " to " + max
          + ", not '" + Printable.of(text) + "'");
    }
    return Integer.parseInt(text);
  }

  private static void ok(Response response, Callback callback, int status, byte[] bytes, String etag) {
    response.setStatus(status);
    response.getHeaders().put(HttpErrors.JSON);
    response.getHeaders().put(HttpErrors.NO_STORE);
    response.getHeaders().put(HttpErrors.NOSNIFF);
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
      throw new UpgradeException(ErrorCode.NAME_INVALID, "trust root version '" + Printable.of(text)
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

  private static String authorization(Request request) {
    return request.getHeaders().get(HttpHeader.AUTHORIZATION);
  }
}
