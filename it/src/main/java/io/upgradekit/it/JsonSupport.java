package io.upgradekit.it;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;

/** Reads the JSON the programs print (status, history, fleet status); unknown members are ignored. */
final class JsonSupport {
  static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private JsonSupport() {}

  static JsonNode tree(String json, String what) {
    try {
      return MAPPER.readTree(json);
    } catch (IOException e) {
      throw new HarnessException(what + " is not JSON (" + e.getMessage() + "): " + abbreviate(json), e);
    }
  }

  static <T> T read(String json, Class<T> type, String what) {
    try {
      return MAPPER.readValue(json, type);
    } catch (IOException e) {
      throw new HarnessException(what + " cannot be read as " + type.getSimpleName() + " (" + e.getMessage() + "): "
          + abbreviate(json), e);
    }
  }

  static <T> T read(String json, com.fasterxml.jackson.core.type.TypeReference<T> type, String what) {
    try {
      return MAPPER.readValue(json, type);
    } catch (IOException e) {
      throw new HarnessException(what + " cannot be read (" + e.getMessage() + "): " + abbreviate(json), e);
    }
  }

  static String text(JsonNode node, String field) {
    JsonNode v = node == null ? null : node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String abbreviate(String s) {
    return s.length() > 500 ? s.substring(0, 500) + "..." : s;
  }
}
