package io.upgradekit.schema.json;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.upgradekit.schema.sign.TestVectors;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The JSON Schema files shipped in the jar describe what the code writes, and reject what it refuses. */
class JsonSchemaTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
      builder -> builder.schemaMappers(mappers -> mappers.mapPrefix("https://upgradekit.io/schema/",
          "classpath:io/upgradekit/schema/json-schema/")));
  private static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder()
      .formatAssertionsEnabled(true).build();

  static JsonSchema schema(String name) {
    return FACTORY.getSchema(SchemaLocation.of("https://upgradekit.io/schema/" + name + ".schema.json"), CONFIG);
  }

  @Test
  void everyVectorDocumentAndEnvelopeIsValid() throws Exception {
    for (Map.Entry<String, Object> entry : TestVectors.documents().entrySet()) {
      JsonNode payload = MAPPER.readTree(TestVectors.payload(entry.getValue()));
      assertThat(schema(entry.getKey()).validate(payload)).as(entry.getKey()).isEmpty();
      if (TestVectors.typeOf(entry.getKey()).signingRole() != null) {
        JsonNode envelope = MAPPER.readTree(TestVectors.envelope(entry.getKey(), entry.getValue()));
        assertThat(schema("envelope").validate(envelope)).as(entry.getKey() + " envelope").isEmpty();
      }
    }
  }

  @Test
  void schemasRejectWhatTheReadersRefuse() throws Exception {
    Map<String, Object> documents = TestVectors.documents();
    ObjectNode release = (ObjectNode) MAPPER.readTree(TestVectors.payload(documents.get("release")));
    release.remove("treeHash");
    assertThat(schema("release").validate(release)).isNotEmpty();

    ObjectNode pointer = (ObjectNode) MAPPER.readTree(TestVectors.payload(documents.get("channel")));
    pointer.put("app", "../etc");
    assertThat(schema("channel").validate(pointer)).isNotEmpty();
    pointer.put("app", "shop").put("sequence", "3");
    assertThat(schema("channel").validate(pointer)).isNotEmpty();

    ObjectNode feedback = (ObjectNode) MAPPER.readTree(TestVectors.payload(documents.get("feedback")));
    feedback.put("sentAt", "yesterday");
    Set<ValidationMessage> errors = schema("feedback").validate(feedback);
    assertThat(errors).isNotEmpty();

    ObjectNode noted = (ObjectNode) MAPPER.readTree(TestVectors.payload(documents.get("feedback")));
    ObjectNode note = noted.putArray("notes").addObject().put("at", "2026-01-02T03:04:05Z").put("state", "GATE")
        .put("level", "INFO").put("message", "waiting at the rollout gate");
    assertThat(schema("feedback").validate(noted)).isEmpty();
    note.put("message", "x".repeat(1001));
    assertThat(schema("feedback").validate(noted)).isNotEmpty();

    ObjectNode rollout = (ObjectNode) MAPPER.readTree(TestVectors.payload(documents.get("rollout")));
    rollout.put("action", "recall");
    assertThat(schema("rollout").validate(rollout)).isNotEmpty();
  }
}
