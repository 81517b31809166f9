package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.Names;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Node credentials derived from one server secret: {@code credential = lowercase hex of
 * HMAC-SHA256(secret, UTF-8 node id)} for a node's first generation, and {@code HMAC-SHA256(secret,
 * node id + "\n" + generation)} for later ones (a newline cannot be part of a node id, so no two
 * inputs collide). The server stores nothing per node but the short {@link NodeAccess} list of
 * revoked and re-admitted nodes; an operator derives a node's credential with the {@code
 * node-credential} command and installs it on the node. Rotating the secret revokes every
 * credential at once (a replaced secret file takes effect without a restart); {@link NodeAccess}
 * revokes one.
 *
 * <p>Thread-safe. A check costs one map lookup and at most two HMACs.
 */
public final class NodeCredentials {
  /** What a presented credential is. */
  public enum Verdict {
    /** The node's current credential: admit. */
    VALID,
    /** Not a credential of this node (wrong, malformed, or of a generation long replaced). */
    INVALID,
    /** The node's credential, but revoked (the current one of a revoked node, or the one a re-admission replaced). */
    REVOKED
  }

  /** A thread's MAC, and the secret it was made for. */
  private record KeyedMac(byte[] secret, Mac mac) {}

  private final Supplier<byte[]> secret;
  private final ThreadLocal<KeyedMac> macs = new ThreadLocal<>();
  private final NodeAccess access;

  /** Credentials of the first generation, nobody revoked (for printing and tests). */
  public NodeCredentials(byte[] secret) {
    this(fixed(secret), null);
  }

  /**
   * @param secret gives the current secret, the same array as long as it does not change (a
   *     {@link WatchedSecret}: a replaced secret file takes effect on the running server)
   * @param access the revocation list to consult, or null for none
   */
  public NodeCredentials(Supplier<byte[]> secret, NodeAccess access) {
    this.secret = Objects.requireNonNull(secret, "secret");
    this.access = access;
  }

  private static Supplier<byte[]> fixed(byte[] secret) {
    byte[] copy = Objects.requireNonNull(secret, "secret").clone();
    return () -> copy;
  }

  private Mac mac() {
    byte[] current = secret.get();
    KeyedMac keyed = macs.get();
    if (keyed == null || keyed.secret() != current) {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(current, "HmacSHA256"));
        keyed = new KeyedMac(current, mac);
        macs.set(keyed);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("every Java platform has HmacSHA256", e);
      }
    }
    return keyed.mac();
  }

  /** The first-generation credential of a node (the node id must be valid). */
  public String credentialFor(String node) {
    return credentialFor(node, 1);
  }

  /** The credential of a node's generation (1 or more; the node id must be valid). */
  public String credentialFor(String node, long generation) {
    Names.requireNodeId(node);
    if (generation < 1) {
      throw new IllegalArgumentException("generation must be 1 or more: " + generation);
    }
    return Hashes.hex(mac(node, generation));
  }

  /**
   * Whether {@code credential} is the node's current one, compared in constant time. False for
   * invalid node ids, anything that is not 64 hex digits, and revoked credentials.
   */
  public boolean verify(String node, String credential) {
    return check(node, credential) == Verdict.VALID;
  }

  /**
   * What {@code credential} is for {@code node}: its current credential ({@link Verdict#VALID}),
   * a revoked one of it, or neither.
   *
   * @throws io.upgradekit.schema.UpgradeException IO_ERROR if the revocation list cannot be read
   */
  public Verdict check(String node, String credential) {
    if (node == null || credential == null || !Names.isLowercaseName(node) || !Hashes.isSha256Hex(credential)) {
      return Verdict.INVALID;
    }
    NodeAccess.Entry entry = access == null ? NodeAccess.ADMITTED : access.entry(node);
    byte[] presented = credential.getBytes(StandardCharsets.US_ASCII);
    boolean current = MessageDigest.isEqual(hex(node, entry.generation()), presented);
    if (current) {
      return entry.revoked() ? Verdict.REVOKED : Verdict.VALID;
    }
    boolean replaced = entry.generation() > 1
        && MessageDigest.isEqual(hex(node, entry.generation() - 1), presented);
    return replaced ? Verdict.REVOKED : Verdict.INVALID;
  }

  private byte[] hex(String node, long generation) {
    return Hashes.hex(mac(node, generation)).getBytes(StandardCharsets.US_ASCII);
  }

  private byte[] mac(String node, long generation) {
    String input = generation == 1 ? node : node + "\n" + generation;
    return mac().doFinal(input.getBytes(StandardCharsets.UTF_8));
  }
}
