package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.TrustRoots;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.journal.NodeState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

/**
 * RESOLVE: walks the trust root chain from the pinned root, fetches and verifies the channel
 * pointer (conditionally, with its ETag) and the release manifest it names, refuses releases that
 * are not newer than the installed one, and picks the blob: the delta from the installed version
 * when the release has one for the installed tree (and it did not fail to apply here before), else
 * the full package.
 */
public final class Resolver {
  /** What RESOLVE decided. {@code manifest} is null when the node is up to date. */
  public record Resolution(
      ChannelPointer pointer, ReleaseManifest manifest, byte[] manifestBytes, BlobRef blob, String deltaBase,
      String note, MetadataVerifier verifier) {
    public boolean upToDate() {
      return manifest == null;
    }
  }

  private final UpdaterConfig config;
  private final Home home;
  private final RepositoryClient client;
  private final Clock clock;

  public Resolver(UpdaterConfig config, Home home, RepositoryClient client, Clock clock) {
    this.config = config;
    this.home = home;
    this.client = client;
    this.clock = clock;
  }

  /**
   * @param installed the version {@code current} points at, or null
   * @throws UpgradeException the verification codes (refusals), DOWNLOAD_FAILED, IO_ERROR
   */
  public Resolution resolve(String installed, NodeState state, java.util.function.Consumer<NodeState> saveState) {
    TrustRoot root = trustRoot();
    MetadataVerifier verifier = new MetadataVerifier(root, clock);

    Path cachedPointer = home.trust().resolve("channel.json");
    String pointerPath = RepositoryLayout.channelPointer(config.app(), config.channel());
    // Read before asking: a 304 means "what you have", so it must be there and within the cap.
    byte[] cached = readCached(cachedPointer, DocumentType.CHANNEL);
    RepositoryClient.Fetched fetched = client.fetch(pointerPath, DocumentType.CHANNEL.maxBytes(),
        cached != null ? state.pointerEtag() : null);
    byte[] pointerBytes;
    if (fetched.notModified()) {
      if (cached == null) {
        throw new UpgradeException(ErrorCode.DOWNLOAD_FAILED, client.base() + pointerPath + " answered 304 Not "
            + "Modified to a request without If-None-Match; the repository's server is misbehaving");
      }
      pointerBytes = cached;
    } else if (fetched.notFound()) {
      throw new UpgradeException(ErrorCode.DOWNLOAD_FAILED, "the repository has no channel " + config.channel()
          + " for app " + config.app() + " (" + client.base() + pointerPath + "): check app and channel");
    } else {
      pointerBytes = fetched.body();
    }
    ChannelPointer pointer = verifier.verifyChannelPointer(pointerBytes, config.app(), config.channel(),
        state.lastPointerSequence());
    if (!fetched.notModified()) {
      write(cachedPointer, pointerBytes);
      saveState.accept(state.withPointer(pointer.sequence(), fetched.etag()));
    }

    if (pointer.version().equals(installed)) {
      return new Resolution(pointer, null, null, null, null, "up to date at " + installed, verifier);
    }
    if (state.badReleases().contains(pointer.version())) {
      return new Resolution(pointer, null, null, null, null, "the channel points at " + pointer.version()
          + ", which failed on this node before; staying on " + installed + " until the channel moves on", verifier);
    }

    // The pointer signs the manifest's size: read that much and not one byte more.
    RepositoryClient.Fetched manifestFetch = client.fetchReferenced(
        RepositoryLayout.releaseManifest(config.app(), pointer.version()), pointer.manifest(), DocumentType.RELEASE,
        "the channel pointer (sequence " + pointer.sequence() + ")");
    if (manifestFetch.notFound()) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the channel points at " + pointer.version()
          + ", whose release manifest is missing from the repository");
    }
    ReleaseManifest manifest = verifier.verifyReleaseManifest(manifestFetch.body(), pointer);

    String deltaBase = null;
    BlobRef blob = manifest.packageBlob();
    if (installed != null) {
      Optional<ReleaseManifest> current = installedManifest(installed);
      if (current.isPresent()) {
        ReleaseManifest running = current.get();
        if (manifest.sequence() <= running.sequence()) {
          throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "release " + manifest.version() + " has sequence "
              + manifest.sequence() + ", not newer than the installed " + installed + " (sequence "
              + running.sequence() + "); the node does not go back to older releases");
        }
        Optional<DeltaRef> delta = manifest.deltaFrom(installed);
        if (delta.isPresent() && delta.get().fromTreeHash().equals(running.payload().treeHash())
            && !state.badDeltas().contains(delta.get().blob().sha256())) { // failed to apply here before
          blob = delta.get().blob();
          deltaBase = installed;
        }
      }
    }
    return new Resolution(pointer, manifest, manifestFetch.body(), blob, deltaBase, null, verifier);
  }

  /** The installed version's manifest as verified when it was staged, if kept. */
  public Optional<ReleaseManifest> installedManifest(String version) {
    Path file = home.releases().resolve(version + ".json");
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    byte[] bytes = read(file, DocumentType.RELEASE.maxBytes(), "release manifest");
    // Verified when it was staged, and kept in the node's own state like versions/ itself: not
    // re-verified, so a later key rotation or expiry does not make the installed release unknown.
    return Optional.of(Json.read(Envelopes.parse(bytes, DocumentType.RELEASE).payloadBytes(), ReleaseManifest.class,
        "release"));
  }

  /** Keeps a staged version's manifest for later deltas and sequence checks. */
  public void rememberManifest(String version, byte[] envelope) {
    write(home.releases().resolve(version + ".json"), envelope);
  }

  /** The newest trust root: the pinned one, then every rotation the repository has (cached locally). */
  public TrustRoot trustRoot() {
    byte[] pinnedBytes;
    try {
      pinnedBytes = BoundedFiles.read(config.trustRoot(), DocumentType.ROOT.maxBytes());
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "the pinned trust root " + config.trustRoot()
          + " (repository.trustRoot) is larger than " + DocumentType.ROOT.maxBytes() + " bytes, the limit for a trust"
          + " root: it is not a root.json; copy the one from the repository's publisher into place");
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "cannot read the pinned trust root "
          + config.trustRoot() + " (repository.trustRoot): " + e.getMessage()
          + "; copy root.json from the repository's publisher into place");
    }
    // Self-signed by its own threshold; its expiry is checked on the root the walk ends on.
    TrustRoot pinned = Json.read(Envelopes.parse(pinnedBytes, DocumentType.ROOT).payloadBytes(), TrustRoot.class,
        "root");
    new MetadataVerifier(pinned, clock).verifySignatures(pinnedBytes, DocumentType.ROOT);
    Path cache = home.trust().resolve("roots");
    try {
      return TrustRoots.update(pinned, version -> {
        Path cached = cache.resolve(version + ".root.json");
        byte[] kept = readCached(cached, DocumentType.ROOT);
        if (kept != null) {
          return kept;
        }
        RepositoryClient.Fetched f = client.fetch(RepositoryLayout.trustRoot(version), DocumentType.ROOT.maxBytes(), null);
        if (f.notFound()) {
          return null;
        }
        StateFiles.write(cached, f.body());
        return f.body();
      }, clock);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot walk the trust root chain: " + e, e);
    } catch (UpgradeException e) {
      // The cache holds what the repository served, verified or not: drop it so a fixed
      // repository is read afresh.
      try {
        FileTrees.deleteRecursively(cache);
      } catch (IOException ignored) {
        // the next walk overwrites entries
      }
      throw e;
    }
  }

  /**
   * A file of the node's own state, read back: never more than its type's cap (it may have been
   * replaced or damaged since the updater wrote it).
   */
  private static byte[] read(Path file, int cap, String what) {
    try {
      return BoundedFiles.read(file, cap);
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, file + " is larger than any " + what + " (" + cap + " bytes); "
          + "the updater did not write it: move it away and run again");
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, file + " is missing");
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e, e);
    }
  }

  /**
   * A cached copy of a repository document (verified again after reading), or null when there is
   * none or it is over its type's cap: then it is deleted and the repository is asked afresh.
   */
  private static byte[] readCached(Path file, DocumentType type) {
    try {
      return BoundedFiles.read(file, type.maxBytes());
    } catch (NoSuchFileException e) {
      return null;
    } catch (BoundedFiles.TooLargeException e) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // written over after the next fetch
      }
      return null;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e, e);
    }
  }

  private static void write(Path file, byte[] bytes) {
    StateFiles.write(file, bytes);
  }
}
