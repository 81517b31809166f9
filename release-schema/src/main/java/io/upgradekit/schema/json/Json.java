package io.upgradekit.schema.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.DocumentType;
import java.io.IOException;

/**
 * The product's JSON: canonical on write, strict and bounded on read.
 *
 * <p>Canonical means: UTF-8, no insignificant white space, object members sorted by name, absent
 * optional values omitted, times as ISO-8601 UTC strings. The same value always gives the same
 * bytes, so the same build signs the same bytes.
 *
 * <p>Reading refuses (with {@link ErrorCode#METADATA_TOO_LARGE} before parsing, or {@link
 * ErrorCode#METADATA_MALFORMED}): input over the document type's cap, duplicate member names,
 * nesting deeper than {@value #MAX_DEPTH}, strings longer than {@value #MAX_STRING_LENGTH}
 * characters, trailing content, values of the wrong JSON type (no coercion of strings to numbers
 * and the like), and missing required members. Unknown members are ignored, so newer writers can
 * add fields that older readers skip.
 */
public final class Json {
  /** Deepest nesting accepted; real documents need fewer than ten levels. */
  public static final int MAX_DEPTH = 32;
  /** Longest string accepted; the largest real strings are base64 envelope payloads. */
  public static final int MAX_STRING_LENGTH = 96 * 1024 * 1024;

  private static final ObjectMapper MAPPER = newMapper();

  private Json() {}

  private static ObjectMapper newMapper() {
    JsonMapper mapper = JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
        .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .build();
    mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
        .maxNestingDepth(MAX_DEPTH)
        .maxStringLength(MAX_STRING_LENGTH)
        .maxNumberLength(40)
        .maxNameLength(256)
        .build());
    // Wrong JSON types are errors, not guesses: "12" is not a number, 12 is not a string.
    mapper.coercionConfigDefaults()
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
    mapper.coercionConfigFor(LogicalType.Integer)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
    mapper.coercionConfigFor(LogicalType.Float)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.TryConvert);
    mapper.coercionConfigFor(LogicalType.Boolean)
        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail);
    return mapper;
  }

  /** The canonical bytes of a value (a record of this package's model, or plain maps and lists). */
  public static byte[] canonicalBytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot encode " + value.getClass().getName() + " as JSON", e);
    }
  }

  /**
   * Reads a document of the given type, after checking its size against the type's cap.
   *
   * @throws UpgradeException METADATA_TOO_LARGE or METADATA_MALFORMED
   */
  public static <T> T read(byte[] bytes, DocumentType documentType, Class<T> type) {
    requireWithinCap(bytes.length, documentType);
    return read(bytes, type, documentType.typeName());
  }

  /**
   * Reads a value that is not one of the stored documents (an API body, see {@code
   * io.upgradekit.schema.api.ApiBody}) with the strict rules above, after checking its size
   * against {@code maxBytes}.
   *
   * @param what names the document in error messages
   * @throws UpgradeException METADATA_TOO_LARGE or METADATA_MALFORMED
   */
  public static <T> T read(byte[] bytes, int maxBytes, Class<T> type, String what) {
    if (bytes.length > maxBytes) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, what + " document is " + bytes.length
          + " bytes, more than the " + maxBytes + "-byte limit for its type");
    }
    return read(bytes, type, what);
  }

  /**
   * Reads a value with the strict rules above but no size cap (the caller has bounded the input).
   *
   * @param what names the document in error messages
   * @throws UpgradeException METADATA_MALFORMED
   */
  public static <T> T read(byte[] bytes, Class<T> type, String what) {
    try {
      return MAPPER.readValue(bytes, type);
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED,
          what + " document is invalid: " + cause.getMessage(), e);
    } catch (StreamConstraintsException e) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED,
          what + " document exceeds a parsing limit: " + e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED,
          what + " document is not valid: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, what + " document cannot be read: " + e.getMessage(), e);
    } catch (UpgradeException e) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, what + " document is invalid: " + e.getMessage(), e);
    }
  }

  /** @throws UpgradeException METADATA_TOO_LARGE when {@code size} is over the type's cap */
  public static void requireWithinCap(long size, DocumentType documentType) {
    if (size > documentType.maxBytes()) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, documentType.typeName() + " document is "
          + size + " bytes, more than the " + documentType.maxBytes() + "-byte limit for its type");
    }
  }
}
