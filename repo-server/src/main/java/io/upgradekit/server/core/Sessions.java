package io.upgradekit.server.core;

import io.upgradekit.schema.Hashes;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The dashboard's login sessions, in memory: an operator who logged in with their operator token
 * gets a random session id (the cookie) and a random CSRF token (which actions must carry). The
 * store is bounded: at most {@code maxSessions} (the least recently used goes first), each ending
 * after {@code idleTimeout} without a request and at the latest {@link #MAX_LIFETIME} after the
 * login. Only the SHA-256 of a session id is kept, and each session keeps the digest of the
 * operator's token rather than a role: every request asks the operators' credentials again (so a
 * removed line or a changed role applies to open sessions too).
 *
 * <p>Per process: behind a load balancer, pin dashboard users to one server (or log in again).
 * Thread-safe.
 */
public final class Sessions {
  /** A session ends this long after its login at the latest, however busy. */
  public static final Duration MAX_LIFETIME = Duration.ofHours(12);

  /** Sessions kept at most by default. */
  public static final int DEFAULT_MAX_SESSIONS = 1000;

  /**
   * One session.
   *
   * @param credentialDigest the SHA-256 of the operator's token
   * @param csrfToken the token every action of this session must carry
   * @param expires the end of its lifetime
   */
  public record Session(byte[] credentialDigest, String csrfToken, Instant expires) {
    public Session {
      Objects.requireNonNull(credentialDigest, "credentialDigest");
      Objects.requireNonNull(csrfToken, "csrfToken");
      Objects.requireNonNull(expires, "expires");
    }

    /** Whether {@code presented} is this session's CSRF token (constant time). */
    public boolean csrfMatches(String presented) {
      return presented != null && MessageDigest.isEqual(Hashes.newSha256().digest(bytes(csrfToken)),
          Hashes.newSha256().digest(bytes(presented)));
    }
  }

  /**
   * A new session.
   *
   * @param id the session id, for the cookie (never stored)
   * @param session the session
   */
  public record Created(String id, Session session) {}

  /** A session found by its id, with the operator as the credentials name them now. */
  public record Found(Session session, Caller.Operator operator) {}

  private static final class Entry {
    final Session session;
    Instant lastUsed;

    Entry(Session session, Instant lastUsed) {
      this.session = session;
      this.lastUsed = lastUsed;
    }
  }

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration idleTimeout;
  private final int maxSessions;
  private final Map<String, Entry> sessions = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first

  public Sessions(Clock clock, Duration idleTimeout, int maxSessions) {
    if (idleTimeout.isNegative() || idleTimeout.isZero() || maxSessions < 1) {
      throw new IllegalArgumentException("idleTimeout and maxSessions must be positive");
    }
    this.clock = clock;
    this.idleTimeout = idleTimeout;
    this.maxSessions = maxSessions;
  }

  /** Starts a session for the operator whose token has {@code credentialDigest}. */
  public synchronized Created create(byte[] credentialDigest) {
    Instant now = clock.instant();
    purge(now);
    while (sessions.size() >= maxSessions) {
      Iterator<String> oldest = sessions.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    String id = token();
    Session session = new Session(credentialDigest.clone(), token(), now.plus(MAX_LIFETIME));
    sessions.put(key(id), new Entry(session, now));
    return new Created(id, session);
  }

  /**
   * The live session with this id, as the credentials name its operator now, or null (unknown,
   * idle too long, past its lifetime, or its operator's line is gone). Counts as a use.
   *
   * @param operators the operator of a token digest now, or null
   */
  public Found find(String id, Function<byte[], Caller.Operator> operators) {
    if (id == null || id.length() != 43) {
      return null;
    }
    Session session;
    synchronized (this) {
      Instant now = clock.instant();
      String key = key(id);
      Entry entry = sessions.get(key);
      if (entry == null) {
        return null;
      }
      if (!now.isBefore(entry.session.expires()) || !now.isBefore(entry.lastUsed.plus(idleTimeout))) {
        sessions.remove(key);
        return null;
      }
      entry.lastUsed = now;
      session = entry.session;
    }
    Caller.Operator operator = operators.apply(session.credentialDigest());
    if (operator == null) {
      remove(id);
      return null;
    }
    return new Found(session, operator);
  }

  /** Ends a session (logout); unknown ids are ignored. */
  public synchronized void remove(String id) {
    if (id != null) {
      sessions.remove(key(id));
    }
  }

  /** Sessions held now (for tests and metrics). */
  public synchronized int size() {
    purge(clock.instant());
    return sessions.size();
  }

  private void purge(Instant now) {
    sessions.values().removeIf(e -> !now.isBefore(e.session.expires()) || !now.isBefore(e.lastUsed.plus(idleTimeout)));
  }

  private String token() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static String key(String id) {
    return HexFormat.of().formatHex(Hashes.newSha256().digest(bytes(id)));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
