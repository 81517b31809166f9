package io.upgradekit.schema.json;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Fixtures;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.ReleaseManifest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  private static final String POINTER = "{\"app\":\"shop\",\"channel\":\"stable\",\"expires\":\"2027-01-01T00:00:00Z\","
      + "\"manifest\":{\"sha256\":\"" + "ab".repeat(32) + "\",\"size\":10},\"sequence\":3,\"type\":\"channel\","
      + "\"version\":\"1.0.0\"}";

  @Test
  void canonicalBytesSortMembersAndOmitAbsentValues() {
    String json = new String(Json.canonicalBytes(Map.of("b", 1, "a", Map.of("d", 2, "c", 3))), StandardCharsets.UTF_8);
    assertThat(json).isEqualTo("{\"a\":{\"c\":3,\"d\":2},\"b\":1}");

    ChannelPointer pointer = read(POINTER, ChannelPointer.class);
    assertThat(new String(Json.canonicalBytes(pointer), StandardCharsets.UTF_8)).isEqualTo(POINTER);
  }

  @Test
  void sameValueGivesTheSameBytes() {
    ReleaseManifest manifest = Fixtures.manifest("shop", "1.0.0", 1, Fixtures.NEXT_YEAR);
    byte[] once = Json.canonicalBytes(manifest);
    byte[] again = Json.canonicalBytes(Json.read(once, DocumentType.RELEASE, ReleaseManifest.class));
    assertThat(again).isEqualTo(once);
  }

  @Test
  void unknownMembersAreIgnored() {
    ChannelPointer pointer = read(POINTER.replace("{\"app\"", "{\"addedInVersion9\":{\"x\":[1,2]},\"app\""),
        ChannelPointer.class);
    assertThat(pointer.version()).isEqualTo("1.0.0");
  }

  @Test
  void absentOptionalValuesStayAbsent() {
    assertThat(read(POINTER, ChannelPointer.class).previous()).isNull();
    ChannelPointer withEmptyHistory = read(POINTER.replace("\"sequence\"", "\"previous\":[],\"sequence\""),
        ChannelPointer.class);
    assertThat(withEmptyHistory.previous()).isEmpty();
  }

  @Test
  void missingRequiredMembersAreMalformed() {
    assertCode(() -> read(POINTER.replace("\"sequence\":3,", ""), ChannelPointer.class), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> read(POINTER.replace("\"app\":\"shop\",", ""), ChannelPointer.class), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void duplicateMembersAreMalformed() {
    assertCode(() -> read(POINTER.replace("{\"app\":\"shop\"", "{\"app\":\"shop\",\"app\":\"evil\""),
        ChannelPointer.class), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void wrongTypesAreMalformed() {
    assertCode(() -> read(POINTER.replace("\"sequence\":3", "\"sequence\":\"3\""), ChannelPointer.class),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> read(POINTER.replace("\"sequence\":3", "\"sequence\":3.5"), ChannelPointer.class),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> read(POINTER.replace("\"version\":\"1.0.0\"", "\"version\":100"), ChannelPointer.class),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> read(POINTER.replace("\"manifest\":{", "\"manifest\":[{").replace(",\"size\":10}", ",\"size\":10}]"),
        ChannelPointer.class), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void deepNestingIsMalformed() {
    String deep = "[".repeat(100_000) + "]".repeat(100_000);
    String json = POINTER.replace("{\"app\"", "{\"x\":" + deep + ",\"app\"");
    // Under the size cap of a release manifest, so only the depth limit can refuse it.
    assertCode(() -> Json.read(json.getBytes(StandardCharsets.UTF_8), DocumentType.RELEASE, ChannelPointer.class),
        ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void trailingContentIsMalformed() {
    assertCode(() -> read(POINTER + "{}", ChannelPointer.class), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void invalidNamesInsideDocumentsAreMalformed() {
    assertCode(() -> read(POINTER.replace("\"app\":\"shop\"", "\"app\":\"../etc\""), ChannelPointer.class),
        ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void oversizedDocumentsAreRefusedBeforeParsing() {
    byte[] big = new byte[DocumentType.FEEDBACK.maxBytes() + 1];
    assertCode(() -> Json.read(big, DocumentType.FEEDBACK, Feedback.class), ErrorCode.METADATA_TOO_LARGE);
  }

  private static <T> T read(String json, Class<T> type) {
    return Json.read(json.getBytes(StandardCharsets.UTF_8), DocumentType.CHANNEL, type);
  }
}
