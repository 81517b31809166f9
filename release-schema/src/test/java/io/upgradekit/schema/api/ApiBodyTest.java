package io.upgradekit.schema.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code /v1} bodies: each example (the bytes repo-server writes) reads strictly, writes back
 * byte for byte, and validates against the schema shipped in the jar; the schemas and the reader
 * refuse what is not such a body.
 */
class ApiBodyTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
      builder -> builder.schemaMappers(mappers -> mappers.mapPrefix("https://upgradekit.io/schema/",
          "classpath:io/upgradekit/schema/json-schema/")));
  private static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder()
      .formatAssertionsEnabled(true).build();

  static JsonSchema schema(ApiBody<?> body) {
    return FACTORY.getSchema(SchemaLocation.of("https://upgradekit.io/schema/" + body.name() + ".schema.json"), CONFIG);
  }

  static byte[] example(ApiBody<?> body) throws IOException {
    try (InputStream in = ApiBodyTest.class.getResourceAsStream("/api/" + body.name() + ".json")) {
      assertThat(in).as("an example of " + body).isNotNull();
      return in.readAllBytes();
    }
  }

  static List<ApiBody<?>> bodies() {
    return ApiBody.ALL;
  }

  @SuppressWarnings("unchecked")
  static <T> byte[] rewrite(ApiBody<T> body, byte[] bytes) {
    return body.write(body.read(bytes));
  }

  @ParameterizedTest
  @MethodSource("bodies")
  void theExampleRoundTripsByteForByteAndMatchesTheSchema(ApiBody<?> body) throws Exception {
    byte[] bytes = example(body);
    assertThat(body.type().isInstance(body.read(bytes))).isTrue();
    assertThat(new String(rewrite(body, bytes), StandardCharsets.UTF_8))
        .isEqualTo(new String(bytes, StandardCharsets.UTF_8));
    assertThat(schema(body).validate(MAPPER.readTree(bytes))).isEmpty();
    assertThat(ApiBodyTest.class.getClassLoader().getResource(body.schemaResource())).isNotNull();
  }

  @ParameterizedTest
  @MethodSource("bodies")
  void theReaderIsStrictAndBounded(ApiBody<?> body) throws Exception {
    String json = new String(example(body), StandardCharsets.UTF_8);
    List<String> refused = new ArrayList<>(List.of(
        "",
        "[]",
        "{",
        json + "{}",                                       // trailing content
        "{\"dup\":1,\"dup\":1," + json.substring(1)));  // a duplicate member
    if (body != ApiBody.CLAIM_REQUEST) {
      refused.add("{}"); // every required member missing (a claim request's names are the server's to check)
    }
    for (String bad : refused) {
      assertThatThrownBy(() -> body.read(bad.getBytes(StandardCharsets.UTF_8))).as(bad)
          .isInstanceOfSatisfying(UpgradeException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED));
    }
    byte[] tooLarge = (json.substring(0, json.length() - 1) + ",\"pad\":\"" + "x".repeat(body.maxBytes()) + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> body.read(tooLarge)).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_TOO_LARGE));
    // Unknown members are skipped, as in every document: newer servers may add some.
    String extended = json.substring(0, json.length() - 1) + ",\"zzNew\":1}";
    assertThat(rewrite(body, extended.getBytes(StandardCharsets.UTF_8))).isEqualTo(example(body));
  }

  /** A change to a valid example that the schema and the reader must both refuse. */
  record Bad(ApiBody<?> body, String why, Consumer<ObjectNode> change) {
    @Override
    public String toString() {
      return body + ": " + why;
    }
  }

  static List<Bad> badBodies() {
    List<Bad> bad = new ArrayList<>();
    bad.add(new Bad(ApiBody.CLAIM_REQUEST, "a number for a name", o -> o.put("node", 7)));
    bad.add(new Bad(ApiBody.CLAIM_REQUEST, "no node", o -> o.remove("node")));
    bad.add(new Bad(ApiBody.CLAIM_GRANT, "another type", o -> o.put("type", "feedback")));
    bad.add(new Bad(ApiBody.CLAIM_GRANT, "a negative slot", o -> o.put("slot", -1)));
    bad.add(new Bad(ApiBody.CLAIM_GRANT, "no capacity", o -> o.remove("capacity")));
    bad.add(new Bad(ApiBody.CLAIM_GRANT, "created as text", o -> o.put("created", "true")));
    bad.add(new Bad(ApiBody.CLAIM_GRANT, "a path in the node id", o -> o.put("node", "../x")));
    bad.add(new Bad(ApiBody.PUBLISH_RESULT, "an absolute path", o -> o.put("path", "/etc/passwd")));
    bad.add(new Bad(ApiBody.PUBLISH_RESULT, "a path out of the repository", o -> o.put("path", "blobs/../../x")));
    bad.add(new Bad(ApiBody.PUBLISH_RESULT, "no created", o -> o.remove("created")));
    bad.add(new Bad(ApiBody.TRUST_ROOT_RESULT, "version 0", o -> o.put("version", 0)));
    bad.add(new Bad(ApiBody.TRUST_ROOT_RESULT, "no version", o -> o.remove("version")));
    bad.add(new Bad(ApiBody.FEEDBACK_RESULT, "no stored", o -> o.remove("stored")));
    bad.add(new Bad(ApiBody.FEEDBACK_RESULT, "no path", o -> o.remove("path")));
    bad.add(new Bad(ApiBody.WHOAMI, "no caller", o -> o.remove("caller")));
    bad.add(new Bad(ApiBody.WHOAMI, "a node without its id", o -> o.put("caller", "node")));
    bad.add(new Bad(ApiBody.WHOAMI, "a limit of 0", o -> o.put("maxBlobSize", 0)));
    bad.add(new Bad(ApiBody.ERROR, "a lower-case code", o -> o.put("code", "not_found")));
    bad.add(new Bad(ApiBody.ERROR, "no message", o -> o.remove("message")));
    bad.add(new Bad(ApiBody.ERROR, "an endless message", o -> o.put("message", "x".repeat(9000))));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "no generatedAt", o -> o.remove("generatedAt")));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "a time in words", o -> o.put("generatedAt", "now")));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "a hostile node id",
        o -> o.set("nodes", ((ObjectNode) o.get("nodes")).set("../x", o.get("nodes").get("web-01")))));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "a negative count",
        o -> ((ObjectNode) o.get("apps").get("shop").get("nodesByVersion")).put("2.4.0", -1)));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "an event without steps",
        o -> ((ObjectNode) o.get("nodes").get("web-01").get("apps").get("shop").get("lastEvent")).remove("steps")));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "a node app without its version member",
        o -> ((ObjectNode) o.get("nodes").get("web-01").get("apps").get("shop")).remove("currentVersion")));
    bad.add(new Bad(ApiBody.FLEET_STATUS, "a step without a state",
        o -> ((ObjectNode) ((ArrayNode) o.get("nodes").get("web-01").get("apps").get("shop").get("lastEvent")
            .get("steps")).get(0)).remove("state")));
    bad.add(new Bad(ApiBody.SESSION_REQUEST, "no token", o -> o.remove("token")));
    bad.add(new Bad(ApiBody.SESSION, "a role that does not exist", o -> o.put("role", "root")));
    bad.add(new Bad(ApiBody.SESSION, "a short CSRF token", o -> o.put("csrfToken", "abc")));
    bad.add(new Bad(ApiBody.INVENTORY_PAGE, "a page over the limit", o -> o.put("limit", 501)));
    bad.add(new Bad(ApiBody.INVENTORY_PAGE, "markup in a label",
        o -> ((ObjectNode) ((ObjectNode) o.get("nodes").get(0)).get("labels")).put("zone", "<script>alert(1)</script>")));
    bad.add(new Bad(ApiBody.INVENTORY_PAGE, "a hostile node id",
        o -> ((ObjectNode) o.get("nodes").get(0)).put("node", "<img src=x>")));
    bad.add(new Bad(ApiBody.NODE_HISTORY, "a step without an outcome",
        o -> ((ObjectNode) o.get("events").get(0).get("steps").get(0)).remove("outcome")));
    bad.add(new Bad(ApiBody.NODE_HISTORY, "an endless fix",
        o -> ((ObjectNode) o.get("events").get(0)).put("fix", "x".repeat(3000))));
    bad.add(new Bad(ApiBody.ROLLOUT_SERIES, "a factor of 0", o -> o.put("errorRateFactor", 0)));
    bad.add(new Bad(ApiBody.ROLLOUT_SERIES, "a point without its time",
        o -> ((ObjectNode) o.get("points").get(0)).remove("at")));
    bad.add(new Bad(ApiBody.RELEASE_OVERVIEW, "a key id that is not one",
        o -> ((ArrayNode) o.get("apps").get(0).get("channels").get(0).get("keyIds")).add("../x")));
    bad.add(new Bad(ApiBody.RELEASE_OVERVIEW, "a negative package size",
        o -> ((ObjectNode) o.get("apps").get(0).get("releases").get(0)).put("packageSize", -1)));
    bad.add(new Bad(ApiBody.INVENTORY, "another type", o -> o.put("type", "rollout")));
    bad.add(new Bad(ApiBody.INVENTORY, "an entry without its reception time",
        o -> ((ObjectNode) o.get("nodes").get(0)).remove("receivedAt")));
    bad.add(new Bad(ApiBody.INVENTORY, "a hostile node id",
        o -> ((ObjectNode) o.get("nodes").get(0).get("heartbeat")).put("node", "../x")));
    return bad;
  }

  @ParameterizedTest
  @MethodSource("badBodies")
  void theSchemaAndTheReaderRefuseTheSameBadBodies(Bad bad) throws Exception {
    ObjectNode node = (ObjectNode) MAPPER.readTree(example(bad.body()));
    bad.change().accept(node);
    assertThat(schema(bad.body()).validate(node)).as("schema").isNotEmpty();
    if (bad.why().equals("no node") || bad.why().equals("a node app without its version member")) {
      return; // checked by the server (NAME_INVALID), or null is a value: see the tests below
    }
    byte[] bytes = MAPPER.writeValueAsBytes(node);
    assertThatThrownBy(() -> bad.body().read(bytes)).as("reader").isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED));
  }

  @Test
  void aClaimRequestIsReadAsJsonAndItsNamesAreCheckedByTheServer() {
    assertThatThrownBy(() -> ApiBody.CLAIM_REQUEST.read("{\"app\":\"shop\",\"node\":7}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED));
    ClaimRequest hostile = ApiBody.CLAIM_REQUEST.read(
        "{\"app\":\"shop\",\"version\":\"1.0\",\"scope\":\"w\",\"node\":\"../x\"}".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(hostile::requireValidNames).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
    ClaimRequest missing = ApiBody.CLAIM_REQUEST.read("{\"app\":\"shop\"}".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(missing::requireValidNames).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
    assertThat(new ClaimRequest("shop", "2.4.0", "wave-1", "web-01").requireValidNames().node()).isEqualTo("web-01");
  }

  @Test
  void aClaimGrantIsTheStoredClaimPlusCapacityAndCreated() {
    Claim claim = Claim.of("shop", "2.4.0", "wave-1", 2, "web-01", Instant.parse("2026-11-22T10:00:00Z"));
    ClaimGrant grant = ClaimGrant.of(claim, 5, true);
    assertThat(grant.toClaim()).isEqualTo(claim);
    assertThat(ApiBody.CLAIM_GRANT.read(ApiBody.CLAIM_GRANT.write(grant))).isEqualTo(grant);
    assertThatThrownBy(() -> ClaimGrant.of(claim, 0, true)).isInstanceOf(UpgradeException.class);
  }

  @Test
  void whoamiNamesTheRoleAndANewerServersRolesAreRead() {
    assertThat(new String(ApiBody.WHOAMI.write(Whoami.node("web-01")), StandardCharsets.UTF_8))
        .isEqualTo("{\"caller\":\"node\",\"node\":\"web-01\"}");
    assertThat(new String(ApiBody.WHOAMI.write(Whoami.publisher(4L << 30)), StandardCharsets.UTF_8))
        .isEqualTo("{\"caller\":\"publisher\",\"maxBlobSize\":4294967296}");
    assertThat(ApiBody.WHOAMI.read("{\"caller\":\"operator\"}".getBytes(StandardCharsets.UTF_8)).caller())
        .isEqualTo("operator");
  }

  @Test
  void anErrorKeepsCodesThisReleaseDoesNotKnowAndNeverFailsToBeWritten() {
    ApiError unknown = ApiBody.ERROR.read("{\"code\":\"SOME_FUTURE_CODE\",\"message\":\"m\"}"
        .getBytes(StandardCharsets.UTF_8));
    assertThat(unknown.knownCode()).isEmpty();
    assertThat(ApiError.of(ErrorCode.SCOPE_FULL, "full").knownCode()).hasValue(ErrorCode.SCOPE_FULL);
    assertThat(ApiError.of(ErrorCode.NOT_FOUND, null).message()).isEqualTo("NOT_FOUND");
    ApiError huge = ApiError.of(ErrorCode.INTERNAL_ERROR, "\u0001".repeat(100_000));
    assertThat(huge.message()).hasSize(ApiError.MAX_MESSAGE_LENGTH);
    assertThat(ApiBody.ERROR.write(huge).length).isLessThanOrEqualTo(ApiBody.ERROR.maxBytes());
    assertThat(ApiBody.ERROR.read(ApiBody.ERROR.write(huge))).isEqualTo(huge);
  }

  @Test
  void theFleetStatusEventSumsTheStepsAndANodeWithoutVersionIsWrittenAsNull() {
    Instant t = Instant.parse("2026-11-22T10:00:00Z");
    Feedback report = new Feedback("feedback", "e1", 0, "web-01", "shop", null, "1.0.0", "END", "FAILED",
        List.of(new StepReport("DOWNLOAD", t, 700, "FAILED", "DOWNLOAD_FAILED", "503"),
            new StepReport("RESOLVE", t, 20, "OK", null, null)),
        "DOWNLOAD_FAILED", null, null, t);
    FleetStatus.Event event = FleetStatus.Event.of(report);
    assertThat(event.durationMillis()).isEqualTo(720);
    Map<String, FleetStatus.NodeApp> apps = new LinkedHashMap<>();
    apps.put("shop", new FleetStatus.NodeApp(null, 1, event));
    FleetStatus status = new FleetStatus(t, Map.of("shop", new FleetStatus.App(
        Map.of("1.0.0", Map.of("FAILED", 1)), Map.of(FleetStatus.NO_VERSION, 1))),
        Map.of("web-01", new FleetStatus.Node(apps, 300)));
    String json = new String(ApiBody.FLEET_STATUS.write(status), StandardCharsets.UTF_8);
    assertThat(json).contains("\"currentVersion\":null", "\"nodesByVersion\":{\"none\":1}")
        .doesNotContain("fromVersion", "\"message\":null");
    assertThat(ApiBody.FLEET_STATUS.read(json.getBytes(StandardCharsets.UTF_8))).isEqualTo(status);
  }

  @Test
  void everySchemaNamesItsBody() throws Exception {
    for (ApiBody<?> body : ApiBody.ALL) {
      try (InputStream in = ApiBodyTest.class.getClassLoader().getResourceAsStream(body.schemaResource())) {
        JsonNode schema = MAPPER.readTree(in);
        assertThat(schema.path("$id").asText()).isEqualTo("https://upgradekit.io/schema/" + body.name() + ".schema.json");
      }
    }
  }
}
