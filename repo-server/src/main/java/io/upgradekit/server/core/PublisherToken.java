package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The publisher's bearer token. Compared through SHA-256 digests in constant time, so neither the
 * content nor the length of the token leaks through timing.
 */
public final class PublisherToken {
  private final byte[] digest;

  public PublisherToken(byte[] token) {
    this.digest = Hashes.newSha256().digest(token);
  }

  public boolean matches(String presented) {
    if (presented == null) {
      return false;
    }
    byte[] other = Hashes.newSha256().digest(presented.getBytes(StandardCharsets.UTF_8));
    return MessageDigest.isEqual(digest, other);
  }
}
