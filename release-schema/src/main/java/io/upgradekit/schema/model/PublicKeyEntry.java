package io.upgradekit.schema.model;

import java.util.Arrays;
import java.util.Base64;

/**
 * A public key as a trust root lists it.
 *
 * @param algorithm always {@code "ed25519"} in this format version
 * @param publicKey standard base64 of the key's X.509 SubjectPublicKeyInfo DER encoding (the body
 *     of its PEM file); the key id is the SHA-256 of these bytes
 */
public record PublicKeyEntry(String algorithm, String publicKey) {
  /** The fixed DER prefix of every Ed25519 X.509 public key (RFC 8410); 32 key bytes follow. */
  private static final byte[] ED25519_X509_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  public static final String ED25519 = "ed25519";

  public PublicKeyEntry {
    if (!ED25519.equals(algorithm)) {
      throw Checks.malformed("key algorithm '" + algorithm + "' is not supported; use " + ED25519);
    }
    Checks.required(publicKey, "publicKey");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(publicKey);
    } catch (IllegalArgumentException e) {
      throw Checks.malformed("publicKey is not base64");
    }
    if (der.length != ED25519_X509_PREFIX.length + 32
        || !Arrays.equals(der, 0, ED25519_X509_PREFIX.length, ED25519_X509_PREFIX, 0, ED25519_X509_PREFIX.length)) {
      throw Checks.malformed("publicKey is not an X.509-encoded Ed25519 key");
    }
  }

  /** The X.509 DER bytes of the key. */
  public byte[] encoded() {
    return Base64.getDecoder().decode(publicKey);
  }

  public static PublicKeyEntry ed25519(byte[] x509Der) {
    return new PublicKeyEntry(ED25519, Base64.getEncoder().encodeToString(x509Der));
  }
}
