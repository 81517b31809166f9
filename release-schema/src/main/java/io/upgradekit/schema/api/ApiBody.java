package io.upgradekit.schema.api;

import io.upgradekit.schema.json.Json;
import java.util.List;
import java.util.Objects;

/**
 * The JSON bodies of repo-server's {@code /v1} API, each with its record, its JSON Schema in this
 * jar ({@code io/upgradekit/schema/json-schema/<name>.schema.json}, {@code $id
 * https://upgradekit.io/schema/<name>.schema.json}) and the largest size a reader accepts.
 *
 * <p>Every program reads them with {@link #read}: the size is checked before parsing, then the
 * strict reader of the signed documents ({@link Json}) refuses duplicate members, wrong JSON types,
 * excessive nesting and trailing content, and the record's constructor checks the values. Every
 * program writes them with {@link #write}, in the canonical form (members sorted by name), so the
 * same value always gives the same bytes.
 *
 * <p>Signed documents and feedback reports, which also cross the API, are {@link
 * io.upgradekit.schema.model.DocumentType}s.
 *
 * @param <T> the record
 */
public final class ApiBody<T> {
  /** {@code POST /v1/claims}, the request. */
  public static final ApiBody<ClaimRequest> CLAIM_REQUEST =
      new ApiBody<>("claim-request", "claim request", ClaimRequest.class, 4 * 1024);
  /** {@code POST /v1/claims}, the answer (201, 200). */
  public static final ApiBody<ClaimGrant> CLAIM_GRANT =
      new ApiBody<>("claim-grant", "claim grant", ClaimGrant.class, 4 * 1024);
  /** {@code PUT /v1/blobs/...}, {@code /v1/apps/<app>/releases/...}, {@code /v1/apps/<app>/channels/...}: the answer. */
  public static final ApiBody<PublishResult> PUBLISH_RESULT =
      new ApiBody<>("publish-result", "publish result", PublishResult.class, 4 * 1024);
  /** {@code PUT /v1/roots/<n>}: the answer. */
  public static final ApiBody<TrustRootResult> TRUST_ROOT_RESULT =
      new ApiBody<>("trust-root-result", "trust root result", TrustRootResult.class, 1024);
  /** {@code POST /v1/feedback}: the answer (the request is a {@code feedback} document). */
  public static final ApiBody<FeedbackResult> FEEDBACK_RESULT =
      new ApiBody<>("feedback-result", "feedback result", FeedbackResult.class, 4 * 1024);
  /** {@code GET /v1/whoami}: the answer. */
  public static final ApiBody<Whoami> WHOAMI = new ApiBody<>("whoami", "whoami answer", Whoami.class, 1024);
  /** Every error answer. */
  public static final ApiBody<ApiError> ERROR = new ApiBody<>("error", "error", ApiError.class, 64 * 1024);
  /**
   * {@code GET /v1/status}: the answer. About 1 KiB per node and app with a typical event, up to
   * about 150 KiB with an event of 64 steps with long messages: 64 MiB holds a fleet of tens of
   * thousands of nodes.
   */
  public static final ApiBody<FleetStatus> FLEET_STATUS =
      new ApiBody<>("fleet-status", "fleet status", FleetStatus.class, 64 * 1024 * 1024);

  /** {@code POST /v1/heartbeats}, the request. */
  public static final ApiBody<Heartbeat> HEARTBEAT = new ApiBody<>("heartbeat", "heartbeat", Heartbeat.class, 8 * 1024);
  /** {@code POST /v1/heartbeats}, the answer. */
  public static final ApiBody<HeartbeatResult> HEARTBEAT_RESULT =
      new ApiBody<>("heartbeat-result", "heartbeat result", HeartbeatResult.class, 1024);
  /** {@code GET /v1/calls}: the answer (whether a rollout calls the node now). */
  public static final ApiBody<NodeCall> NODE_CALL = new ApiBody<>("node-call", "node call", NodeCall.class, 2 * 1024);
  /** {@code POST /v1/leases}, {@code /v1/leases/confirm}, {@code /v1/leases/release}: the request. */
  public static final ApiBody<LeaseRequest> LEASE_REQUEST =
      new ApiBody<>("lease-request", "lease request", LeaseRequest.class, 4 * 1024);
  /** The answer to a lease request. */
  public static final ApiBody<LeaseAnswer> LEASE_ANSWER =
      new ApiBody<>("lease-answer", "lease answer", LeaseAnswer.class, 32 * 1024);
  /** {@code POST /v1/rollouts/<app>/<version>/actions}: the request. */
  public static final ApiBody<RolloutAction> ROLLOUT_ACTION =
      new ApiBody<>("rollout-action", "rollout action", RolloutAction.class, 4 * 1024);

  /** {@code GET /v1/rollouts}: the answer. */
  public static final ApiBody<RolloutList> ROLLOUT_LIST =
      new ApiBody<>("rollout-list", "rollout list", RolloutList.class, 16 * 1024 * 1024);
  /** {@code GET /v1/rollouts/<app>/<version>}: the answer (a schedule of a large fleet makes it big). */
  public static final ApiBody<RolloutReport> ROLLOUT_REPORT =
      new ApiBody<>("rollout-report", "rollout report", RolloutReport.class, 128 * 1024 * 1024);

  /** {@code GET /v1/sets}: the answer. */
  public static final ApiBody<SetList> SET_LIST =
      new ApiBody<>("set-list", "set list", SetList.class, 16 * 1024 * 1024);
  /** {@code GET /v1/sets/<name>/<version>}: the answer. */
  public static final ApiBody<SetReport> SET_REPORT =
      new ApiBody<>("set-report", "set report", SetReport.class, 16 * 1024 * 1024);

  /** {@code GET /v1/rollouts/<app>/<version>/series}: the answer. */
  public static final ApiBody<RolloutSeries> ROLLOUT_SERIES =
      new ApiBody<>("rollout-series", "rollout series", RolloutSeries.class, 256 * 1024);
  /** {@code GET /v1/inventory}: the answer (one page of at most 500 nodes). */
  public static final ApiBody<InventoryPage> INVENTORY_PAGE =
      new ApiBody<>("inventory-page", "inventory page", InventoryPage.class, 8 * 1024 * 1024);
  /**
   * {@code GET /v1/nodes/<node>}: the answer. Up to 200 events of up to 64 steps with long messages;
   * typical answers are a few KiB per event.
   */
  public static final ApiBody<NodeHistory> NODE_HISTORY =
      new ApiBody<>("node-history", "node history", NodeHistory.class, 64 * 1024 * 1024);
  /** {@code GET /v1/releases}: the answer. */
  public static final ApiBody<ReleaseOverview> RELEASE_OVERVIEW =
      new ApiBody<>("release-overview", "release overview", ReleaseOverview.class, 32 * 1024 * 1024);
  /** {@code GET /v1/expiries}: the answer. */
  public static final ApiBody<DocumentExpiries> DOCUMENT_EXPIRIES =
      new ApiBody<>("document-expiries", "document expiries", DocumentExpiries.class, 2 * 1024 * 1024);
  /** {@code POST /v1/sessions}: the request (a dashboard login). */
  public static final ApiBody<SessionRequest> SESSION_REQUEST =
      new ApiBody<>("session-request", "session request", SessionRequest.class, 4 * 1024);
  /** {@code POST /v1/sessions}, {@code GET /v1/sessions/current}: the answer. */
  public static final ApiBody<Session> SESSION = new ApiBody<>("session", "session", Session.class, 4 * 1024);
  /**
   * The fleet inventory: a server's snapshot {@code fleet/inventory/<instance>.json}, which {@code
   * upgrade:plan} reads (about 500 bytes per node and app: 64 MiB holds over 100,000).
   */
  public static final ApiBody<InventorySnapshot> INVENTORY =
      new ApiBody<>("inventory", "inventory snapshot", InventorySnapshot.class, 64 * 1024 * 1024);

  /** Every body, in the order above. */
  public static final List<ApiBody<?>> ALL = List.of(CLAIM_REQUEST, CLAIM_GRANT, PUBLISH_RESULT, TRUST_ROOT_RESULT,
      FEEDBACK_RESULT, WHOAMI, ERROR, FLEET_STATUS, HEARTBEAT, HEARTBEAT_RESULT, NODE_CALL, LEASE_REQUEST, LEASE_ANSWER,
      ROLLOUT_ACTION, ROLLOUT_LIST, ROLLOUT_REPORT, SET_LIST, SET_REPORT, ROLLOUT_SERIES, INVENTORY_PAGE,
      NODE_HISTORY, RELEASE_OVERVIEW, DOCUMENT_EXPIRIES, SESSION_REQUEST, SESSION, INVENTORY);

  private final String name;
  private final String description;
  private final Class<T> type;
  private final int maxBytes;

  private ApiBody(String name, String description, Class<T> type, int maxBytes) {
    this.name = name;
    this.description = description;
    this.type = type;
    this.maxBytes = maxBytes;
  }

  /** The schema's name: {@code <name>.schema.json}. */
  public String name() {
    return name;
  }

  /** The record. */
  public Class<T> type() {
    return type;
  }

  /** The largest body a reader accepts, in bytes; checked before parsing. */
  public int maxBytes() {
    return maxBytes;
  }

  /** The schema's resource path in this jar. */
  public String schemaResource() {
    return "io/upgradekit/schema/json-schema/" + name + ".schema.json";
  }

  /**
   * Reads a body strictly.
   *
   * @throws io.upgradekit.schema.UpgradeException METADATA_TOO_LARGE over {@link #maxBytes()},
   *     METADATA_MALFORMED for anything that is not a valid body of this kind
   */
  public T read(byte[] bytes) {
    return Json.read(Objects.requireNonNull(bytes, "bytes"), maxBytes, type, description);
  }

  /** The canonical bytes of a body. */
  public byte[] write(T value) {
    return Json.canonicalBytes(type.cast(Objects.requireNonNull(value, "value")));
  }

  @Override
  public String toString() {
    return name;
  }
}
