package io.upgradekit.schema.model;

import io.upgradekit.schema.Hashes;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * The trust root: which keys exist and which roles they hold. Version 1 is pinned on every node;
 * version N+1 replaces N only when signed by a threshold of N's root keys and of its own.
 *
 * @param type always {@code "root"}
 * @param version 1, 2, 3, ... in rotation order
 * @param expires after this instant the root is no longer trusted (rotate before)
 * @param keys every key, by key id (hex SHA-256 of the key's X.509 DER bytes)
 * @param roles {@code root}, {@code release} and {@code rollout}, each with its keys and threshold
 */
public record TrustRoot(
    String type, long version, Instant expires, Map<String, PublicKeyEntry> keys, Map<String, RoleKeys> roles) implements SignedDocument {
  public static final int MAX_KEYS = 64;

  public TrustRoot {
    Checks.type(type, DocumentType.ROOT);
    Checks.positive(version, "version");
    Checks.required(expires, "expires");
    keys = Map.copyOf(Checks.required(keys, "keys"));
    roles = Map.copyOf(Checks.required(roles, "roles"));
    if (keys.size() > MAX_KEYS) {
      throw Checks.malformed("a trust root lists at most " + MAX_KEYS + " keys");
    }
    keys.forEach((id, key) -> {
      if (!Hashes.sha256(key.encoded()).equals(id)) {
        throw Checks.malformed("key id " + id + " is not the SHA-256 of its public key");
      }
    });
    for (Role role : Role.values()) {
      RoleKeys roleKeys = roles.get(roleName(role));
      if (roleKeys == null) {
        throw Checks.malformed("role '" + roleName(role) + "' is missing");
      }
      for (String id : roleKeys.keyIds()) {
        if (!keys.containsKey(id)) {
          throw Checks.malformed("role '" + roleName(role) + "' names key " + id + ", which the root does not list");
        }
      }
    }
  }

  public static TrustRoot of(long version, Instant expires, Map<String, PublicKeyEntry> keys, Map<Role, RoleKeys> roles) {
    Map<String, RoleKeys> byName = new TreeMap<>();
    roles.forEach((role, roleKeys) -> byName.put(roleName(role), roleKeys));
    return new TrustRoot(DocumentType.ROOT.typeName(), version, expires, keys, byName);
  }

  /** The keys and threshold of a role. */
  public RoleKeys role(Role role) {
    return roles.get(roleName(role));
  }

  static String roleName(Role role) {
    return role.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public long serial() {
    return version;
  }
}
