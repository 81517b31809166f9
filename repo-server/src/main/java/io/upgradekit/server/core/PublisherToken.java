package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The publisher's bearer token. Compared through SHA-256 digests in constant time, so neither the
 * content nor the length of the token leaks through timing. From a {@link WatchedSecret}, a
 * replaced token file takes effect on the running server (and the old token is refused).
 */
public final class PublisherToken {
  private record Digest(byte[] token, byte[] digest) {}

  private final Supplier<byte[]> token;
  private volatile Digest digest;

  public PublisherToken(byte[] token) {
    this(() -> token);
  }

  /** @param token gives the current token; the same array as long as it does not change */
  public PublisherToken(Supplier<byte[]> token) {
    this.token = Objects.requireNonNull(token, "token");
  }

  /** @throws io.upgradekit.schema.UpgradeException IO_ERROR if the token file became unusable */
  public boolean matches(String presented) {
    if (presented == null) {
      return false;
    }
    byte[] current = token.get();
    Digest known = digest;
    if (known == null || known.token() != current) {
      known = new Digest(current, Hashes.newSha256().digest(current));
      digest = known;
    }
    byte[] other = Hashes.newSha256().digest(presented.getBytes(StandardCharsets.UTF_8));
    return MessageDigest.isEqual(known.digest(), other);
  }
}
