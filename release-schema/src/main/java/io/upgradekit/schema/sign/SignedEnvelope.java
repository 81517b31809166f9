package io.upgradekit.schema.sign;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * A signed document as stored and served: the payload's exact bytes (base64) with signatures over
 * them. The layout is DSSE's (the in-toto Dead Simple Signing Envelope): signatures cover {@link
 * Envelopes#pae}(payloadType, payload), so a signature for one document type never verifies as
 * another.
 *
 * @param payloadType e.g. {@code application/vnd.upgradekit.release+json}
 * @param payload standard base64 of the payload's bytes (canonical JSON when we wrote it)
 * @param signatures one or more signatures
 */
public record SignedEnvelope(String payloadType, String payload, List<EnvelopeSignature> signatures) {
  public SignedEnvelope {
    if (payloadType == null || payload == null || signatures == null) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED,
          "a signed envelope needs payloadType, payload and signatures");
    }
    signatures = List.copyOf(signatures);
  }

  /** The payload's bytes; these, not any re-encoding, are what signatures cover. */
  public byte[] payloadBytes() {
    try {
      return Base64.getDecoder().decode(payload);
    } catch (IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, "envelope payload is not base64", e);
    }
  }

  static SignedEnvelope of(String payloadType, byte[] payload, List<EnvelopeSignature> signatures) {
    return new SignedEnvelope(payloadType, Base64.getEncoder().encodeToString(Objects.requireNonNull(payload)),
        signatures);
  }
}
