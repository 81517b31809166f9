package io.upgradekit.updater.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The release-set documents this updater fetched, kept for its lifetime so that a node waiting at
 * GATE (a contract not met yet, asked again every ten seconds) does not fetch them again each time.
 *
 * <ul>
 *   <li>A release set ({@code sets/<name>/<version>.json}) is immutable once published: its bytes
 *       are kept and never fetched again.
 *   <li>A set's state changes as the fleet moves: its bytes are kept with their ETag and asked for
 *       with {@code If-None-Match}; a 304 reuses them.
 * </ul>
 *
 * Only bytes are kept, never a verdict: the caller verifies them again on every use (signature,
 * expiry, the sequence trusted before), which costs microseconds and means a revoked key or an
 * expired document is noticed exactly as if the bytes had been fetched. The few most recently used
 * entries are kept ({@link #KEPT}), so a long-running daemon holds a bounded amount.
 */
final class SetDocuments {
  static final int KEPT = 8;

  /** A set state's bytes and the ETag they came with (null: the server sent none). */
  record Kept(byte[] body, String etag) {}

  private final Map<String, byte[]> sets = lru();
  private final Map<String, Kept> states = lru();

  synchronized byte[] set(String name, String version) {
    return sets.get(key(name, version));
  }

  /** Call with bytes that verified. */
  synchronized void keepSet(String name, String version, byte[] body) {
    sets.put(key(name, version), body);
  }

  synchronized Kept state(String name, String version) {
    return states.get(key(name, version));
  }

  /** Call with bytes that verified; without an ETag there is nothing to ask conditionally with. */
  synchronized void keepState(String name, String version, byte[] body, String etag) {
    if (etag == null) {
      states.remove(key(name, version));
    } else {
      states.put(key(name, version), new Kept(body, etag));
    }
  }

  private static String key(String name, String version) {
    return name + '\n' + version;
  }

  private static <V> Map<String, V> lru() {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > KEPT;
      }
    };
  }
}
