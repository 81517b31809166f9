package io.upgradekit.schema.sign;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/**
 * One signature in an envelope.
 *
 * @param keyId the signing key's id (JSON name {@code keyid}, as in DSSE)
 * @param sig standard base64 of the 64-byte Ed25519 signature
 */
public record EnvelopeSignature(@JsonProperty("keyid") String keyId, String sig) {
  public EnvelopeSignature {
    Objects.requireNonNull(keyId, "keyid");
    Objects.requireNonNull(sig, "sig");
  }
}
