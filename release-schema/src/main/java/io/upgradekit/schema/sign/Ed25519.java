package io.upgradekit.schema.sign;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ed25519 with the JDK's own provider: key generation, PEM encoding (PKCS#8 private, X.509
 * public), key ids, signing and verifying.
 *
 * <p>A key id is the lowercase hex SHA-256 of the public key's X.509 DER bytes.
 */
public final class Ed25519 {
  private static final Pattern PEM_BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
  private static final int MAX_PEM_LENGTH = 16 * 1024;

  private Ed25519() {}

  public static KeyPair generate() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK provides Ed25519 from Java 15 on", e);
    }
  }

  public static String keyId(PublicKey key) {
    return Hashes.sha256(key.getEncoded());
  }

  public static String publicKeyPem(PublicKey key) {
    return pem("PUBLIC KEY", key.getEncoded());
  }

  public static String privateKeyPem(PrivateKey key) {
    return pem("PRIVATE KEY", key.getEncoded());
  }

  /**
   * Reads the public key from PEM text holding a {@code PUBLIC KEY} block.
   *
   * @throws UpgradeException KEY_INVALID, saying what is wrong with the text
   */
  public static PublicKey readPublicKey(String pemText) {
    byte[] der = block(pemText, "PUBLIC KEY");
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.KEY_INVALID, "the PUBLIC KEY block is not an Ed25519 key", e);
    }
  }

  /**
   * Reads the private key from PEM text holding a {@code PRIVATE KEY} block (PKCS#8).
   *
   * @throws UpgradeException KEY_INVALID, saying what is wrong with the text
   */
  public static PrivateKey readPrivateKey(String pemText) {
    byte[] der = block(pemText, "PRIVATE KEY");
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new UpgradeException(ErrorCode.KEY_INVALID, "the PRIVATE KEY block is not an Ed25519 key", e);
    }
  }

  public static byte[] sign(PrivateKey key, byte[] message) {
    try {
      Signature signature = Signature.getInstance("Ed25519");
      signature.initSign(key);
      signature.update(message);
      return signature.sign();
    } catch (GeneralSecurityException e) {
      throw new UpgradeException(ErrorCode.KEY_INVALID, "cannot sign with this key: " + e.getMessage(), e);
    }
  }

  /** True only for a valid signature; malformed signatures are simply invalid. */
  public static boolean verify(PublicKey key, byte[] message, byte[] signatureBytes) {
    try {
      Signature signature = Signature.getInstance("Ed25519");
      signature.initVerify(key);
      signature.update(message);
      return signature.verify(signatureBytes);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static String pem(String label, byte[] der) {
    String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
  }

  private static byte[] block(String pemText, String label) {
    if (pemText == null || pemText.isBlank()) {
      throw new UpgradeException(ErrorCode.KEY_INVALID, "the key text is empty");
    }
    if (pemText.length() > MAX_PEM_LENGTH) {
      throw new UpgradeException(ErrorCode.KEY_INVALID, "the key text is longer than a key file can be");
    }
    Matcher matcher = PEM_BLOCK.matcher(pemText);
    while (matcher.find()) {
      if (matcher.group(1).equals(label)) {
        try {
          return Base64.getMimeDecoder().decode(matcher.group(2));
        } catch (IllegalArgumentException e) {
          throw new UpgradeException(ErrorCode.KEY_INVALID, "the " + label + " block is not valid base64", e);
        }
      }
    }
    throw new UpgradeException(ErrorCode.KEY_INVALID,
        "no '-----BEGIN " + label + "-----' block found; is this the right key file?");
  }
}
