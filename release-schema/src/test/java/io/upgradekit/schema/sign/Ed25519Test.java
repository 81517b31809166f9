package io.upgradekit.schema.sign;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Ed25519Test {
  // RFC 8032 section 7.1, test 1.
  private static final String SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  private static final String PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  private static final String SIGNATURE_OF_EMPTY = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
      + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

  static SigningKey rfc8032Key() throws Exception {
    HexFormat hex = HexFormat.of();
    KeyFactory factory = KeyFactory.getInstance("Ed25519");
    PrivateKey privateKey = factory.generatePrivate(
        new PKCS8EncodedKeySpec(hex.parseHex("302e020100300506032b657004220420" + SECRET)));
    PublicKey publicKey = factory.generatePublic(
        new X509EncodedKeySpec(hex.parseHex("302a300506032b6570032100" + PUBLIC)));
    return new SigningKey(privateKey, publicKey);
  }

  @Test
  void signsTheRfc8032Vector() throws Exception {
    assertThat(HexFormat.of().formatHex(rfc8032Key().sign(new byte[0]))).isEqualTo(SIGNATURE_OF_EMPTY);
  }

  @Test
  void keyIdIsTheSha256OfTheX509Encoding() throws Exception {
    SigningKey key = rfc8032Key();
    assertThat(key.keyId()).isEqualTo(Hashes.sha256(HexFormat.of().parseHex("302a300506032b6570032100" + PUBLIC)));
  }

  @Test
  void pemRoundTripKeepsTheKey() {
    SigningKey key = SigningKey.generate();
    SigningKey read = SigningKey.fromPem(key.toPem());

    assertThat(read.keyId()).isEqualTo(key.keyId());
    byte[] message = {1, 2, 3};
    assertThat(Ed25519.verify(key.publicKey(), message, read.sign(message))).isTrue();
    assertThat(Ed25519.readPublicKey(key.publicKeyPem())).isEqualTo(key.publicKey());
  }

  @Test
  void aPublicKeyFileIsNotASigningKey() {
    SigningKey key = SigningKey.generate();
    assertCode(() -> SigningKey.fromPem(key.publicKeyPem()), ErrorCode.KEY_INVALID);
  }

  @Test
  void mismatchedBlocksAreRefused() {
    SigningKey a = SigningKey.generate();
    SigningKey b = SigningKey.generate();
    String mixed = Ed25519.privateKeyPem(privateKeyOf(a)) + b.publicKeyPem();
    assertCode(() -> SigningKey.fromPem(mixed), ErrorCode.KEY_INVALID);
  }

  @Test
  void garbageIsRefused() {
    assertCode(() -> SigningKey.fromPem(""), ErrorCode.KEY_INVALID);
    assertCode(() -> SigningKey.fromPem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----"),
        ErrorCode.KEY_INVALID);
    assertCode(() -> SigningKey.fromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        + "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), ErrorCode.KEY_INVALID);
  }

  @Test
  void badSignaturesDoNotVerify() {
    SigningKey key = SigningKey.generate();
    byte[] signature = key.sign(new byte[] {1});
    signature[0] ^= 1;
    assertThat(Ed25519.verify(key.publicKey(), new byte[] {1}, signature)).isFalse();
    assertThat(Ed25519.verify(key.publicKey(), new byte[] {1}, new byte[3])).isFalse();
  }

  private static PrivateKey privateKeyOf(SigningKey key) {
    return Ed25519.readPrivateKey(key.toPem());
  }
}
