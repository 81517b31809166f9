package io.upgradekit.schema.sign;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.Objects;

/**
 * A private key with its public half and key id. The JDK cannot derive an Ed25519 public key from
 * the private one, so a signing key file holds both PEM blocks ({@code PRIVATE KEY} and {@code
 * PUBLIC KEY}); {@link #toPem()} writes that form and {@link #fromPem} reads it.
 */
public final class SigningKey {
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final String keyId;

  public SigningKey(PrivateKey privateKey, PublicKey publicKey) {
    this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
    this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
    this.keyId = Ed25519.keyId(publicKey);
  }

  public static SigningKey generate() {
    KeyPair pair = Ed25519.generate();
    return new SigningKey(pair.getPrivate(), pair.getPublic());
  }

  /**
   * Reads a signing key file's text: both blocks, and the pair must belong together.
   *
   * @throws io.upgradekit.schema.UpgradeException KEY_INVALID
   */
  public static SigningKey fromPem(String pemText) {
    SigningKey key = new SigningKey(Ed25519.readPrivateKey(pemText), Ed25519.readPublicKey(pemText));
    byte[] probe = "upgradekit key pair check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    if (!Ed25519.verify(key.publicKey, probe, Ed25519.sign(key.privateKey, probe))) {
      throw new io.upgradekit.schema.UpgradeException(io.upgradekit.schema.ErrorCode.KEY_INVALID,
          "the PUBLIC KEY block does not belong to the PRIVATE KEY block in this key file");
    }
    return key;
  }

  /** Both PEM blocks, private first: the content of a signing key file (keep it mode 0600). */
  public String toPem() {
    return Ed25519.privateKeyPem(privateKey) + Ed25519.publicKeyPem(publicKey);
  }

  public String publicKeyPem() {
    return Ed25519.publicKeyPem(publicKey);
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  public String keyId() {
    return keyId;
  }

  public byte[] sign(byte[] message) {
    return Ed25519.sign(privateKey, message);
  }

  @Override
  public String toString() {
    return "SigningKey[" + keyId + "]"; // never the private key
  }
}
