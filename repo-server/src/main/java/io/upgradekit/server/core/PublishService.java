package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Publication into the repository, in the order that keeps every reader safe: blobs (checked
 * against their hash before they are stored), release manifests (signed by the release role of the
 * current trust root; every blob they name present with the right size; immutable), and channel
 * pointers (signed; their manifest present and matching; replaced by compare-and-swap with an
 * increasing sequence).
 *
 * <p>The publisher token only lets a client <em>deliver</em> documents: what is stored must carry
 * valid signatures, so a leaked token cannot inject software.
 *
 * <p>Thread-safe, and safe with several processes sharing one repository: blobs and manifests are
 * created with exclusive links, and pointer swaps follow {@link PointerSwap} (a sequence claim with
 * a lease, then compare-and-write under an OS file lock), like the plugin's directory mode.
 */
public final class PublishService {
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

  private final Path root;
  private final TrustStore trust;
  private final Clock clock;
  private final long maxBlobBytes;
  private final Duration lease;
  private final Duration maxWait;
  private final Consumer<String> log;

  public PublishService(Path root, TrustStore trust, Clock clock, long maxBlobBytes) {
    this(root, trust, clock, maxBlobBytes, PointerSwap.DEFAULT_LEASE, Duration.ofSeconds(20), message -> { });
  }

  /**
   * @param lease how long this server's sequence claims keep other publishers waiting
   * @param maxWait how long a pointer swap waits for other publishers (within a request, so below
   *     the connection's idle timeout)
   * @param log told when a pointer swap waits for another publisher, and why
   */
  public PublishService(Path root, TrustStore trust, Clock clock, long maxBlobBytes, Duration lease,
      Duration maxWait, Consumer<String> log) {
    this.root = root;
    this.trust = trust;
    this.clock = clock;
    this.maxBlobBytes = maxBlobBytes;
    this.lease = lease;
    this.maxWait = maxWait;
    this.log = log;
  }

  public long maxBlobBytes() {
    return maxBlobBytes;
  }

  /**
   * Stores a blob under its hash, hashing while streaming to a temp file and publishing it only if
   * the hash matches. Idempotent: a blob that exists is not rewritten (the body is still checked).
   *
   * @throws UpgradeException HASH_MISMATCH, BODY_TOO_LARGE, NAME_INVALID
   */
  public Outcome putBlob(String sha256, InputStream body) throws IOException {
    if (!Hashes.isSha256Hex(sha256)) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "'" + printable(sha256)
          + "' is not a blob name: it must be the SHA-256 of the content as 64 lowercase hex digits");
    }
    String relative = RepositoryLayout.blob(sha256);
    Path target = RepositoryLayout.resolve(root, relative);
    BoundedInputStream in = new BoundedInputStream(body, maxBlobBytes, "the blob");
    if (Files.exists(target)) {
      requireHash(sha256, in, OutputStream.nullOutputStream());
      return new Outcome(false, relative, Etags.quote(sha256));
    }
    DurableFiles.createDirectories(target.getParent());
    // A rename may replace a blob that another upload stored meanwhile: same name, same bytes.
    DurableFiles.writeAtomically(target, out -> requireHash(sha256, in, out));
    return new Outcome(true, relative, Etags.quote(sha256));
  }

  private static void requireHash(String sha256, InputStream in, OutputStream out) throws IOException {
    MessageDigest digest = Hashes.newSha256();
    byte[] buffer = new byte[64 * 1024];
    for (int n; (n = in.read(buffer)) > 0; ) {
      digest.update(buffer, 0, n);
      out.write(buffer, 0, n);
    }
    String actual = Hashes.hex(digest.digest());
    if (!actual.equals(sha256)) {
      throw new UpgradeException(ErrorCode.HASH_MISMATCH, "the uploaded content has SHA-256 " + actual
          + ", not " + sha256 + " as its URL says; nothing was stored");
    }
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
    Path target = RepositoryLayout.resolve(root, relative);
    DurableFiles.createDirectories(target.getParent());
    if (DurableFiles.createExclusively(target, envelope)) {
      return new Outcome(true, relative, Etags.of(envelope));
    }
    if (Arrays.equals(Files.readAllBytes(target), envelope)) {
      return new Outcome(false, relative, Etags.of(envelope));
    }
    throw new UpgradeException(ErrorCode.VERSION_EXISTS, app + " " + version
        + " is already published with other content; versions are immutable, release a new version");
  }

  private void requireBlob(BlobRef blob) throws IOException {
    Path file = RepositoryLayout.resolve(root, RepositoryLayout.blob(blob.sha256()));
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "blob " + blob.sha256()
          + " is not in the repository; upload blobs (PUT /v1/blobs/<sha256>) before the manifest");
    }
    if (size != blob.size()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "blob " + blob.sha256() + " is " + size
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
    Path manifestFile = RepositoryLayout.resolve(root, RepositoryLayout.releaseManifest(app, pointer.version()));
    byte[] manifest;
    try {
      manifest = Files.readAllBytes(manifestFile);
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "the pointer names " + app + " " + pointer.version()
          + ", which is not published; publish its manifest first");
    }
    verifier.verifyReleaseManifest(manifest, pointer);

    String relative = RepositoryLayout.channelPointer(app, channel);
    Path target = RepositoryLayout.resolve(root, relative);
    DurableFiles.createDirectories(target.getParent());
    // The plugin's directory mode may publish into this directory too: both claim the sequence and
    // compare-and-write under the same OS lock (PointerSwap), and a claim left by a publisher that
    // died expires by itself.
    PointerSwap swap = new PointerSwap(target, DocumentType.CHANNEL.maxBytes(), lease, maxWait, clock,
        log);
    PointerSwap.Check check = current -> {
      checkPrecondition(precondition, current);
      if (current != null) {
        long currentSequence = unverifiedSequence(current);
        if (pointer.sequence() <= currentSequence) {
          throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "the pointer's sequence " + pointer.sequence()
              + " is not above the current pointer's " + currentSequence + "; sign it with a higher sequence");
        }
      }
      return true;
    };
    byte[] before = swap.readDocument();
    check.stillExpected(before); // refuse what cannot succeed before claiming anything
    String replaces = before == null ? "none" : Etags.of(before);
    PointerSwap.Outcome outcome = swap.swap(pointer.sequence(), envelope, replaces, check);
    if (outcome != PointerSwap.Outcome.SWAPPED) {
      throw new UpgradeException(ErrorCode.PRECONDITION_FAILED, "another publisher took sequence " + pointer.sequence()
          + " of the channel over while this request waited; fetch the pointer again and retry");
    }
    return new Outcome(before == null, relative, Etags.of(envelope));
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
