package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.Names;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Node credentials derived from one server secret: {@code credential = lowercase hex of
 * HMAC-SHA256(secret, UTF-8 node id)}. The server stores no per-node state; an operator derives
 * a node's credential with the {@code node-credential} command and installs it on the node.
 * Rotating the secret revokes every credential at once.
 *
 * <p>Thread-safe.
 */
public final class NodeCredentials {
  private final SecretKeySpec key;
  private final ThreadLocal<Mac> macs;

  public NodeCredentials(byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
    this.macs = ThreadLocal.withInitial(this::newMac);
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform has HmacSHA256", e);
    }
  }

  /** The credential of a node (the node id must be valid). */
  public String credentialFor(String node) {
    Names.requireNodeId(node);
    return Hashes.hex(mac(node));
  }

  /**
   * Whether {@code credential} is the node's, compared in constant time. False for invalid node
   * ids and for anything that is not 64 hex digits.
   */
  public boolean verify(String node, String credential) {
    if (node == null || credential == null || !Names.isLowercaseName(node)
        || !Hashes.isSha256Hex(credential)) {
      return false;
    }
    byte[] expected = Hashes.hex(mac(node)).getBytes(StandardCharsets.US_ASCII);
    return MessageDigest.isEqual(expected, credential.getBytes(StandardCharsets.US_ASCII));
  }

  private byte[] mac(String node) {
    Mac mac = macs.get();
    return mac.doFinal(node.getBytes(StandardCharsets.UTF_8));
  }
}
