package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The harness reads {@code /v1/status} with release-schema's strict reader. */
class FleetStatusTest {
  static final String STATUS = "{\"apps\":{\"hello\":{\"nodesByVersion\":{\"1.0.0\":1,\"none\":1},"
      + "\"releases\":{\"2.0.0\":{\"FAILED\":1,\"ROLLED_BACK\":1}}}},\"generatedAt\":\"2026-11-22T10:05:00Z\","
      + "\"nodes\":{\"node-1\":{\"apps\":{\"hello\":{\"currentVersion\":\"1.0.0\",\"lastEvent\":{\"durationMillis\":5,"
      + "\"errorCode\":\"HEALTH_CHECK_FAILED\",\"eventId\":\"e1\",\"finalState\":\"END\",\"fromVersion\":\"1.0.0\","
      + "\"outcome\":\"ROLLED_BACK\",\"sentAt\":\"2026-11-22T10:01:00Z\",\"sequence\":3,\"steps\":[],"
      + "\"toVersion\":\"2.0.0\"},\"reports\":4}},\"storedBytes\":900},"
      + "\"node-2\":{\"apps\":{\"hello\":{\"currentVersion\":null,\"lastEvent\":{\"durationMillis\":0,"
      + "\"eventId\":\"e2\",\"finalState\":\"END\",\"outcome\":\"FAILED\",\"sentAt\":\"2026-11-22T10:02:00Z\","
      + "\"sequence\":0,\"steps\":[],\"toVersion\":\"2.0.0\"},\"reports\":1}},\"storedBytes\":300}}}";

  @Test
  void eachNodesViewIsReadFromTheTypedDocument() {
    FleetStatus status = FleetStatus.parse(STATUS);
    assertThat(status.node("node-1", "hello")).contains(
        new FleetStatus.NodeApp("1.0.0", 4, "ROLLED_BACK", "1.0.0", "2.0.0", "HEALTH_CHECK_FAILED"));
    assertThat(status.node("node-2", "hello")).contains(
        new FleetStatus.NodeApp(null, 1, "FAILED", null, "2.0.0", null));
    assertThat(status.document().apps().get("hello").releases().get("2.0.0")).containsEntry("ROLLED_BACK", 1);
    assertThat(status.json()).isEqualTo(STATUS);
  }

  @Test
  void aDocumentThatIsNotAFleetStatusIsRefused() {
    assertThatThrownBy(() -> FleetStatus.parse("{\"nodes\":{}}")).isInstanceOf(HarnessException.class)
        .hasMessageContaining("METADATA_MALFORMED");
    assertThatThrownBy(() -> FleetStatus.parse(STATUS.replace("\"reports\":4", "\"reports\":\"4\"")))
        .isInstanceOf(HarnessException.class);
  }
}
