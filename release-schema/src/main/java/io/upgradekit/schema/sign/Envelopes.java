package io.upgradekit.schema.sign;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Signing documents into envelopes, and reading envelopes without trusting them yet. */
public final class Envelopes {
  /** More signatures than this is not a real document; refuse before verifying any. */
  public static final int MAX_SIGNATURES = 32;

  private Envelopes() {}

  /**
   * Encodes the document canonically and signs it with every key.
   *
   * @return the envelope's canonical bytes, ready to store
   * @throws io.upgradekit.schema.UpgradeException METADATA_TOO_LARGE when the envelope would be over
   *     the type's cap, which every reader refuses
   */
  public static byte[] sign(DocumentType type, Object document, List<SigningKey> keys) {
    if (type.signingRole() == null) {
      throw new IllegalArgumentException(type + " documents are not signed");
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("at least one key is needed to sign");
    }
    byte[] payload = Json.canonicalBytes(document);
    byte[] message = pae(type.payloadType(), payload);
    List<EnvelopeSignature> signatures = new ArrayList<>();
    for (SigningKey key : keys) {
      signatures.add(new EnvelopeSignature(key.keyId(), Base64.getEncoder().encodeToString(key.sign(message))));
    }
    byte[] envelope = Json.canonicalBytes(SignedEnvelope.of(type.payloadType(), payload, signatures));
    if (envelope.length > type.maxBytes()) {
      // Readers refuse it before parsing; publishing it would strand every node.
      throw new io.upgradekit.schema.UpgradeException(io.upgradekit.schema.ErrorCode.METADATA_TOO_LARGE, "the signed "
          + type.typeName() + " document would be " + envelope.length + " bytes, more than the " + type.maxBytes()
          + "-byte limit readers accept for its type" + (type == DocumentType.RELEASE ? " (a manifest costs about 250"
          + " bytes per file of the payload: ship fewer, larger files, e.g. jars instead of unpacked classes)" : ""));
    }
    return envelope;
  }

  /**
   * Parses an envelope after checking its size against the type's cap. Nothing in it is trusted
   * yet.
   *
   * @throws io.upgradekit.schema.UpgradeException METADATA_TOO_LARGE or METADATA_MALFORMED
   */
  public static SignedEnvelope parse(byte[] bytes, DocumentType type) {
    Json.requireWithinCap(bytes.length, type);
    SignedEnvelope envelope = Json.read(bytes, SignedEnvelope.class, type.typeName());
    if (envelope.signatures().size() > MAX_SIGNATURES) {
      throw new io.upgradekit.schema.UpgradeException(io.upgradekit.schema.ErrorCode.METADATA_MALFORMED,
          type.typeName() + " envelope carries " + envelope.signatures().size() + " signatures, more than "
              + MAX_SIGNATURES);
    }
    return envelope;
  }

  /**
   * DSSE's pre-authentication encoding: {@code "DSSEv1" SP len(type) SP type SP len(body) SP
   * body}, lengths as ASCII decimal byte counts. This is what a signature covers.
   */
  public static byte[] pae(String payloadType, byte[] body) {
    byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + type.length + 32);
    out.writeBytes(("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(type);
    out.writeBytes((" " + body.length + " ").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(body);
    return out.toByteArray();
  }
}
