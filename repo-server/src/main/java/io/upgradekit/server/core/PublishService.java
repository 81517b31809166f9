package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Publication into the repository, in the order that keeps every reader safe: blobs (checked
 * against their hash as they are stored), release manifests (signed by the release role of the
 * current trust root; every blob they name present with the right size; immutable), and channel
 * pointers (signed; their manifest present and matching; replaced by compare-and-swap with an
 * increasing sequence).
 *
 * <p>The publisher token only lets a client <em>deliver</em> documents: what is stored must carry
 * valid signatures, so a leaked token cannot inject software.
 *
 * <p>The rules live here; the storage primitives are release-schema's {@link RepositoryStore}
 * (the plugin's directory mode writes through the same store, so both may publish into one
 * directory). Thread-safe, and safe with several processes sharing one store.
 */
public final class PublishService {
  /** How often a pointer swap that lost to another publisher is tried again on what it finds. */
  private static final int MAX_SWAP_ATTEMPTS = 3;

  /** What a publication did. */
  public record Outcome(boolean created, String path, String etag) {}

  /**
   * A compare-and-swap condition.
   *
   * @param ifMatch the {@code If-Match} header (ETags the current document must have), or null
   * @param ifNoneMatch the {@code If-None-Match} header ({@code *}: there must be no document), or
   *     null
   */
  public record Precondition(String ifMatch, String ifNoneMatch) {}

  private final RepositoryStore store;
  private final TrustStore trust;
  private final Clock clock;
  private final long maxBlobBytes;

  public PublishService(Path root, TrustStore trust, Clock clock, long maxBlobBytes) {
    this(root, trust, clock, maxBlobBytes, PointerSwap.DEFAULT_LEASE, Duration.ofSeconds(20), message -> { });
  }

  /**
   * Publication into the directory store at {@code root}.
   *
   * @param lease how long this server's sequence claims keep other publishers waiting
   * @param maxWait how long a pointer swap waits for other publishers (within a request, so below
   *     the connection's idle timeout)
   * @param log told when a pointer swap waits for another publisher, and why
   */
  public PublishService(Path root, TrustStore trust, Clock clock, long maxBlobBytes, Duration lease,
      Duration maxWait, Consumer<String> log) {
    this(new DirectoryStore(root, lease, maxWait, clock, log), trust, clock, maxBlobBytes);
  }

  public PublishService(RepositoryStore store, TrustStore trust, Clock clock, long maxBlobBytes) {
    this.store = Objects.requireNonNull(store, "store");
    this.trust = Objects.requireNonNull(trust, "trust");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.maxBlobBytes = maxBlobBytes;
  }

  public long maxBlobBytes() {
    return maxBlobBytes;
  }

  /**
   * Stores a blob under its hash, checking the hash as it streams in; nothing is stored if it does
   * not match. Idempotent: a blob that exists is not rewritten (the body is still checked).
   *
   * @throws UpgradeException HASH_MISMATCH, BODY_TOO_LARGE, NAME_INVALID
   */
  public Outcome putBlob(String sha256, InputStream body) throws IOException {
    if (!Hashes.isSha256Hex(sha256)) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "'" + printable(sha256)
          + "' is not a blob name: it must be the SHA-256 of the content as 64 lowercase hex digits");
    }
    BoundedInputStream in = new BoundedInputStream(body, maxBlobBytes, "the blob");
    boolean created = store.putBlob(sha256, RepositoryStore.UNKNOWN_SIZE, in);
    return new Outcome(created, RepositoryLayout.blob(sha256), Etags.quote(sha256));
  }

  /**
   * Stores a signed release manifest envelope as {@code apps/<app>/releases/<version>/release.json}.
   * Versions are immutable: identical bytes again answer "not created", other bytes VERSION_EXISTS.
   *
   * @throws UpgradeException verification codes, REFERENCE_MISSING for an absent blob,
   *     VERSION_EXISTS
   */
  public Outcome putRelease(String app, String version, byte[] envelope) throws IOException {
    Names.requireApp(app);
    Names.requireVersion(version);
    MetadataVerifier verifier = new MetadataVerifier(trust.current(), clock);
    ReleaseManifest manifest = verifier.verifyReleaseManifest(envelope, app, version, null);
    List<BlobRef> blobs = new ArrayList<>();
    blobs.add(manifest.packageBlob());
    manifest.deltas().stream().map(DeltaRef::blob).forEach(blobs::add);
    for (BlobRef blob : blobs) {
      requireBlob(blob);
    }
    String relative = RepositoryLayout.releaseManifest(app, version);
    RepositoryStore.Created stored = store.createOrRead(relative, envelope, DocumentType.RELEASE.maxBytes());
    if (stored.created() || Arrays.equals(stored.stored(), envelope)) {
      return new Outcome(stored.created(), relative, Etags.of(envelope));
    }
    throw new UpgradeException(ErrorCode.VERSION_EXISTS, app + " " + version
        + " is already published with other content; versions are immutable, release a new version");
  }

  /**
   * Stores a release set ({@code sets/<name>/<version>.json}) after verifying it (release role, the
   * set's rules) and that the repository holds every component's release; immutable like a release.
   *
   * @throws UpgradeException REFERENCE_MISSING (a component's release is not published), VERSION_EXISTS
   *     (another set under this version), the verification codes
   */
  public Outcome putReleaseSet(String name, String version, byte[] envelope) throws IOException {
    Names.requireSetName(name);
    Names.requireVersion(version);
    MetadataVerifier verifier = new MetadataVerifier(trust.current(), clock);
    ReleaseSet set = verifier.verifyReleaseSet(envelope, name, version);
    List<String> missing = new ArrayList<>();
    for (ReleaseSet.Component c : set.components()) {
      if (store.stat(RepositoryLayout.releaseManifest(c.app(), c.version())).isEmpty()) {
        missing.add(c.app() + " " + c.version());
      }
    }
    if (!missing.isEmpty()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "release set " + name + " " + version + " names"
          + " releases this repository does not hold: " + String.join(", ", missing) + "; publish them first");
    }
    String relative = RepositoryLayout.releaseSet(name, version);
    RepositoryStore.Created stored = store.createOrRead(relative, envelope, DocumentType.RELEASE_SET.maxBytes());
    if (stored.created() || Arrays.equals(stored.stored(), envelope)) {
      return new Outcome(stored.created(), relative, Etags.of(envelope));
    }
    throw new UpgradeException(ErrorCode.VERSION_EXISTS, "release set " + name + " " + version
        + " is already published with other content; sets are immutable, publish a new version");
  }

  private void requireBlob(BlobRef blob) throws IOException {
    Optional<RepositoryStore.Entry> stored = store.stat(RepositoryLayout.blob(blob.sha256()));
    if (stored.isEmpty()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "blob " + blob.sha256()
          + " is not in the repository; upload blobs (PUT /v1/blobs/<sha256>) before the manifest");
    }
    if (stored.get().size() != blob.size()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "blob " + blob.sha256() + " is " + stored.get().size()
          + " bytes in the repository, but the manifest says " + blob.size());
    }
  }

  /**
   * Replaces (or creates) a channel pointer by compare-and-swap. The new pointer must verify, name a
   * manifest that exists with the referenced hash and size and itself verifies, carry a higher
   * sequence than the current pointer, and the precondition must hold against the current
   * pointer's ETag.
   *
   * @throws UpgradeException verification codes, REFERENCE_MISSING, PRECONDITION_REQUIRED,
   *     PRECONDITION_FAILED, ROLLBACK_REFUSED
   */
  public Outcome putChannel(String app, String channel, byte[] envelope, Precondition precondition)
      throws IOException {
    Names.requireApp(app);
    Names.requireChannel(channel);
    if (precondition.ifMatch() == null && precondition.ifNoneMatch() == null) {
      throw new UpgradeException(ErrorCode.PRECONDITION_REQUIRED, "a channel pointer is replaced by compare-and-swap:"
          + " send If-Match with the current pointer's ETag, or If-None-Match: * for the first pointer");
    }
    MetadataVerifier verifier = new MetadataVerifier(trust.current(), clock);
    ChannelPointer pointer = verifier.verifyChannelPointer(envelope, app, channel, 0);
    Optional<RepositoryStore.Versioned> manifest = store.read(RepositoryLayout.releaseManifest(app, pointer.version()),
        DocumentType.RELEASE.maxBytes());
    if (manifest.isEmpty()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "the pointer names " + app + " " + pointer.version()
          + ", which is not published; publish its manifest first");
    }
    verifier.verifyReleaseManifest(manifest.get().bytes(), pointer);

    String relative = RepositoryLayout.channelPointer(app, channel);
    for (int attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
      Optional<RepositoryStore.Versioned> current = store.read(relative, DocumentType.CHANNEL.maxBytes());
      byte[] before = current.map(RepositoryStore.Versioned::bytes).orElse(null);
      // Refused here, the request never claims anything; what passes is swapped only if the
      // pointer is still exactly what was checked.
      checkPrecondition(precondition, before);
      if (before != null) {
        long currentSequence = unverifiedSequence(before);
        if (pointer.sequence() <= currentSequence) {
          throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "the pointer's sequence " + pointer.sequence()
              + " is not above the current pointer's " + currentSequence + "; sign it with a higher sequence");
        }
      }
      String expected = current.map(RepositoryStore.Versioned::tag).orElse(null);
      if (store.compareAndSwap(relative, expected, pointer.sequence(), envelope).written()) {
        return new Outcome(before == null, relative, Etags.of(envelope));
      }
      // Lost to another publisher, or fenced after waiting too long: check again on what is there.
    }
    throw new UpgradeException(ErrorCode.PRECONDITION_FAILED, "another publisher took sequence " + pointer.sequence()
        + " of the channel over while this request waited; fetch the pointer again and retry");
  }

  private static void checkPrecondition(Precondition precondition, byte[] current) {
    if (precondition.ifNoneMatch() != null) {
      if (!precondition.ifNoneMatch().trim().equals("*")) {
        throw new UpgradeException(ErrorCode.REQUEST_INVALID, "If-None-Match must be '*' (create the first pointer)");
      }
      if (current != null) {
        throw new UpgradeException(ErrorCode.PRECONDITION_FAILED, "the channel already has a pointer (ETag "
            + Etags.of(current) + "); fetch it and send If-Match with its ETag");
      }
    }
    if (precondition.ifMatch() != null) {
      if (current == null) {
        throw new UpgradeException(ErrorCode.PRECONDITION_FAILED,
            "the channel has no pointer yet; send If-None-Match: * to create it");
      }
      String etag = Etags.of(current);
      if (!Etags.listMatches(precondition.ifMatch(), etag, false)) {
        throw new UpgradeException(ErrorCode.PRECONDITION_FAILED, "the channel pointer changed: its ETag is now "
            + etag + "; fetch it again and retry");
      }
    }
  }

  /** The sequence of a pointer this server stored (it was verified then). */
  private static long unverifiedSequence(byte[] stored) {
    byte[] payload = Envelopes.parse(stored, DocumentType.CHANNEL).payloadBytes();
    return Json.read(payload, ChannelPointer.class, "channel").sequence();
  }

  static String printable(String value) {
    if (value == null) {
      return "";
    }
    String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
    return shown.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
