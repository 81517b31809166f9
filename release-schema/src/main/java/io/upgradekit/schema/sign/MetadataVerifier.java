package io.upgradekit.schema.sign;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.model.SignedDocument;
import io.upgradekit.schema.model.TrustRoot;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Verifies signed documents against a trust root, in the order that keeps untrusted bytes away
 * from the parser: size cap, envelope, signatures over the exact received bytes, and only then the
 * payload, its type, target, expiry and serial.
 *
 * <p>Every refusal is an {@link UpgradeException} with one code:
 *
 * <ul>
 *   <li>{@code METADATA_TOO_LARGE}: over the type's cap (before parsing anything);
 *   <li>{@code METADATA_MALFORMED}: not a well-formed envelope or document, or a document of
 *       another type;
 *   <li>{@code SIGNATURE_INVALID}: no valid signature by a key of the required role (unknown keys,
 *       bad signatures, none at all);
 *   <li>{@code SIGNATURE_THRESHOLD}: some valid signatures, but fewer distinct keys than the
 *       role's threshold;
 *   <li>{@code METADATA_EXPIRED}: past its expiry;
 *   <li>{@code ROLLBACK_REFUSED}: a lower version or sequence than the last one trusted;
 *   <li>{@code METADATA_INCONSISTENT}: hash, size, version or sequence differs from what referenced
 *       it;
 *   <li>{@code WRONG_TARGET}: valid, but for another app or channel.
 * </ul>
 *
 * <p>Thread-safe and immutable.
 */
public final class MetadataVerifier {
  private final TrustRoot root;
  private final Clock clock;

  public MetadataVerifier(TrustRoot root, Clock clock) {
    this.root = Objects.requireNonNull(root, "root");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public TrustRoot trustRoot() {
    return root;
  }

  /**
   * Verifies a channel pointer.
   *
   * @param lastTrustedSequence the highest pointer sequence this reader accepted before (0 if none)
   */
  public ChannelPointer verifyChannelPointer(byte[] bytes, String app, String channel, long lastTrustedSequence) {
    ChannelPointer pointer = verifyDocument(bytes, DocumentType.CHANNEL, ChannelPointer.class);
    if (!pointer.app().equals(app) || !pointer.channel().equals(channel)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the channel pointer is for " + pointer.app() + "/"
          + pointer.channel() + ", not " + app + "/" + channel);
    }
    requireNotExpired(pointer, DocumentType.CHANNEL);
    requireNotOlder(pointer, lastTrustedSequence, DocumentType.CHANNEL);
    return pointer;
  }

  /**
   * Verifies the release manifest a pointer names: its size and hash must be the pointer's
   * (checked before parsing), its app and version the pointer's.
   */
  public ReleaseManifest verifyReleaseManifest(byte[] bytes, ChannelPointer pointer) {
    return verifyReleaseManifest(bytes, pointer.app(), pointer.version(), pointer.manifest());
  }

  /**
   * Verifies a release manifest.
   *
   * @param expected the size and hash of the manifest file as referenced, or null when the caller
   *     reached the manifest by version alone (e.g. to look at an installed release)
   */
  public ReleaseManifest verifyReleaseManifest(byte[] bytes, String app, String version, BlobRef expected) {
    if (expected != null) {
      requireMatches(bytes, expected, "release manifest " + app + " " + version);
    }
    ReleaseManifest manifest = verifyDocument(bytes, DocumentType.RELEASE, ReleaseManifest.class);
    if (!manifest.app().equals(app)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the release manifest is for app " + manifest.app()
          + ", not " + app);
    }
    if (!manifest.version().equals(version)) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the release manifest is for version "
          + manifest.version() + ", but " + version + " was referenced");
    }
    requireNotExpired(manifest, DocumentType.RELEASE);
    return manifest;
  }

  /**
   * Verifies a release set: release role, the set's rules (its constructor), not expired, and the
   * name and version it was fetched under ({@code sets/<name>/<version>.json}).
   *
   * @throws UpgradeException the verification codes; WRONG_TARGET for another set, METADATA_INCONSISTENT
   *     for another version of it
   */
  public ReleaseSet verifyReleaseSet(byte[] bytes, String name, String version) {
    ReleaseSet set = verifyDocument(bytes, DocumentType.RELEASE_SET, ReleaseSet.class);
    if (!set.name().equals(name)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the release set is " + set.name() + ", not " + name);
    }
    if (!set.version().equals(version)) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the release set is version " + set.version()
          + ", but " + version + " was referenced");
    }
    requireNotExpired(set, DocumentType.RELEASE_SET);
    return set;
  }

  /**
   * Verifies a rollout state. An expired one is refused with METADATA_EXPIRED, which callers must
   * treat as "pause", never as "proceed".
   */
  public RolloutState verifyRolloutState(byte[] bytes, String app, String version, long lastTrustedSequence) {
    RolloutState state = verifyDocument(bytes, DocumentType.ROLLOUT, RolloutState.class);
    if (!state.app().equals(app) || !state.version().equals(version)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the rollout state is for " + state.app() + " "
          + state.version() + ", not " + app + " " + version);
    }
    requireNotExpired(state, DocumentType.ROLLOUT);
    requireNotOlder(state, lastTrustedSequence, DocumentType.ROLLOUT);
    return state;
  }

  /**
   * Verifies a release set's state (rollout role): for this set and version, not expired, its
   * sequence not below the last one this reader trusted.
   *
   * @param lastTrustedSequence the highest sequence this reader accepted before (0 if none)
   */
  public SetState verifySetState(byte[] bytes, String name, String version, long lastTrustedSequence) {
    SetState state = verifyDocument(bytes, DocumentType.SET_STATE, SetState.class);
    if (!state.name().equals(name) || !state.version().equals(version)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the set state is for release set " + state.name() + " "
          + state.version() + ", not " + name + " " + version);
    }
    requireNotExpired(state, DocumentType.SET_STATE);
    requireNotOlder(state, lastTrustedSequence, DocumentType.SET_STATE);
    return state;
  }

  /**
   * Verifies a rollout slot grant: rollout role, not expired, for this app, release and node.
   *
   * @throws UpgradeException the verification codes; WRONG_TARGET for another app, release or node
   */
  public LeaseGrant verifyLeaseGrant(byte[] bytes, String app, String version, String node) {
    LeaseGrant grant = verifyDocument(bytes, DocumentType.LEASE, LeaseGrant.class);
    if (!grant.app().equals(app) || !grant.version().equals(version) || !grant.node().equals(node)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "the slot grant is for " + grant.node() + " on "
          + grant.app() + " " + grant.version() + ", not " + node + " on " + app + " " + version);
    }
    requireNotExpired(grant, DocumentType.LEASE);
    return grant;
  }

  /**
   * Checks signatures for the type's role and parses the payload; checks neither expiry nor
   * serial (the typed methods above do).
   */
  public <T> T verifyDocument(byte[] bytes, DocumentType type, Class<T> documentClass) {
    byte[] payload = verifySignatures(bytes, type);
    return Json.read(payload, documentClass, type.typeName());
  }

  /**
   * Checks the envelope's signatures for the type's role and returns the payload's bytes, which
   * may now be parsed.
   */
  public byte[] verifySignatures(byte[] bytes, DocumentType type) {
    return verifySignatures(Envelopes.parse(bytes, type), type, root.role(type.signingRole()), root.keys());
  }

  static byte[] verifySignatures(SignedEnvelope envelope, DocumentType type, RoleKeys roleKeys,
      Map<String, PublicKeyEntry> keys) {
    if (!envelope.payloadType().equals(type.payloadType())) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, "this is a '" + envelope.payloadType()
          + "' document where a '" + type.payloadType() + "' was expected");
    }
    byte[] payload = envelope.payloadBytes();
    // The expected type, not the envelope's, goes into the signed message: domain separation.
    byte[] message = Envelopes.pae(type.payloadType(), payload);
    Set<String> validKeys = new HashSet<>();
    List<String> problems = new ArrayList<>();
    for (EnvelopeSignature signature : envelope.signatures()) {
      String keyId = signature.keyId();
      if (!roleKeys.keyIds().contains(keyId)) {
        problems.add("key " + abbreviate(keyId) + " is not a " + type.signingRole().name().toLowerCase() + " key");
        continue;
      }
      if (validKeys.contains(keyId)) {
        continue; // a key counts once, however often it signed
      }
      if (verifies(keys.get(keyId), message, signature.sig())) {
        validKeys.add(keyId);
      } else {
        problems.add("the signature by key " + abbreviate(keyId) + " does not verify");
      }
    }
    if (validKeys.size() >= roleKeys.threshold()) {
      return payload;
    }
    if (validKeys.isEmpty()) {
      String why = problems.isEmpty() ? "it carries no signatures" : String.join("; ", problems);
      throw new UpgradeException(ErrorCode.SIGNATURE_INVALID,
          "the " + type.typeName() + " document has no valid signature: " + why);
    }
    throw new UpgradeException(ErrorCode.SIGNATURE_THRESHOLD, "the " + type.typeName() + " document is signed by "
        + validKeys.size() + " distinct valid key(s), but " + roleKeys.threshold() + " are required");
  }

  private static boolean verifies(PublicKeyEntry entry, byte[] message, String signatureBase64) {
    try {
      PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(entry.encoded()));
      return Ed25519.verify(key, message, Base64.getDecoder().decode(signatureBase64));
    } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  void requireNotExpired(SignedDocument document, DocumentType type) {
    Instant now = clock.instant();
    if (!now.isBefore(document.expires())) {
      throw new UpgradeException(ErrorCode.METADATA_EXPIRED, expired(document, type) + " expired at "
          + document.expires() + " (it is " + now + " on this machine; if that is wrong, fix the clock): "
          + fix(document));
    }
  }

  /** The expired document, named so that an operator finds it. */
  private static String expired(SignedDocument document, DocumentType type) {
    if (document instanceof ChannelPointer p) {
      return "the channel pointer " + p.app() + "/" + p.channel() + " (" + p.version() + ", sequence " + p.sequence()
          + ", " + RepositoryLayout.channelPointer(p.app(), p.channel()) + ")";
    }
    if (document instanceof ReleaseManifest m) {
      return "the release manifest of " + m.app() + " " + m.version() + " ("
          + RepositoryLayout.releaseManifest(m.app(), m.version()) + ")";
    }
    if (document instanceof TrustRoot r) {
      return "trust root version " + r.version();
    }
    if (document instanceof RolloutState r) {
      return "the rollout state of " + r.app() + " " + r.version() + " (sequence " + r.sequence() + ")";
    }
    return "the " + type.typeName() + " document";
  }

  /** What brings a fresh document. */
  private static String fix(SignedDocument document) {
    if (document instanceof ChannelPointer p) {
      return "the publisher must re-sign it (mvn upgrade:resign -Dupgrade.app=" + p.app() + " -Dupgrade.channel="
          + p.channel() + ") or publish a release to the channel";
    }
    if (document instanceof ReleaseManifest) {
      return "the publisher must publish a new release to the channel (a manifest cannot be re-signed)";
    }
    if (document instanceof TrustRoot r) {
      return "the publisher must publish trust root version " + (r.version() + 1) + " (mvn upgrade:keygen with"
          + " <rootKeyFile>), or give the node a newer pinned root";
    }
    if (document instanceof RolloutState) {
      return "a repo-server with --rollout-key-file re-signs it while the rollout lives";
    }
    return "the publisher must re-sign it";
  }

  static void requireNotOlder(SignedDocument document, long lastTrusted, DocumentType type) {
    if (document.serial() < lastTrusted) {
      throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "the " + type.typeName() + " document has serial "
          + document.serial() + ", older than " + lastTrusted + " which this node already trusted");
    }
  }

  /** Size first (cheap, and caps what is hashed), then SHA-256. */
  public static void requireMatches(byte[] bytes, BlobRef expected, String what) {
    if (bytes.length != expected.size()) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, what + " is " + bytes.length
          + " bytes, but " + expected.size() + " were referenced");
    }
    if (!Hashes.sha256(bytes).equals(expected.sha256())) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, what + " does not have the referenced SHA-256 "
          + expected.sha256());
    }
  }

  private static String abbreviate(String keyId) {
    String shown = keyId.length() > 16 ? keyId.substring(0, 16) + "..." : keyId;
    return shown.replaceAll("[^0-9A-Za-z.]", "?");
  }
}
