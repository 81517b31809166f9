package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Builds and publishes one release:
 *
 * <ol>
 *   <li>reads the repository's trust root and checks that the signing key is a release key;
 *   <li>lays the payload out as a tree; if the version exists, requires identical content (versions
 *       are immutable) and goes straight to the pointer;
 *   <li>builds the full package (a delta from the empty tree) and deltas from up to {@code deltaCount}
 *       of the channel's latest releases (the pointer's version and its {@code previous} list), whose
 *       trees are rebuilt from their own packages; applies every blob it wrote and compares the result
 *       with the new tree;
 *   <li>signs the manifest and publishes in DESIGN §4's order: blobs, manifest, pointer;
 *   <li>replaces the channel pointer by compare-and-swap; a publisher that loses the race re-reads
 *       the new head and tries again on it (bounded), so no release is lost and no pointer names a
 *       missing file.
 * </ol>
 *
 * <p>Thread-safe if the {@link DeltaEngine} is; each call works in its request's work directory.
 */
public final class ReleaseBuilder {
  private final DeltaEngine engine;
  private final RepositoryFactory repositories;
  private final Clock clock;
  private final Consumer<Event> events;

  /** Opens the repository a request names. */
  @FunctionalInterface
  public interface RepositoryFactory {
    Repository open(String location, String token) throws IOException;
  }

  public ReleaseBuilder(DeltaEngine engine, RepositoryFactory repositories, Clock clock, Consumer<Event> events) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.repositories = Objects.requireNonNull(repositories, "repositories");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * Publishes the release and writes the summary file.
   *
   * @throws ConfigurationException for what the user fixes (key, repository, payload, version reuse)
   * @throws UpgradeException for refused repository content (verification codes) and I/O failures
   *     (IO_ERROR)
   */
  public ReleaseResult release(ReleaseRequest request) {
    try (Repository repository = repositories.open(request.repository(), request.token())) {
      // A private scratch directory, so that two runs in one project cannot trample each other.
      Files.createDirectories(request.workDirectory());
      Path work = Files.createTempDirectory(request.workDirectory(), "release-");
      ReleaseResult result;
      try {
        result = new Run(request, repository, work).run();
      } finally {
        FileTrees.deleteRecursively(work);
      }
      Files.createDirectories(request.summaryFile().toAbsolutePath().getParent());
      DurableFiles.writeAtomically(request.summaryFile(), Json.canonicalBytes(result));
      return result;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "publishing " + request.app() + " " + request.version()
          + " to " + request.repository() + " failed: " + e, e);
    }
  }

  /** One release's state; not shared between threads. */
  private final class Run {
    private final ReleaseRequest request;
    private final Repository repository;
    private final Path work;
    private MetadataVerifier verifier;

    Run(ReleaseRequest request, Repository repository, Path work) {
      this.request = request;
      this.repository = repository;
      this.work = work;
    }

    ReleaseResult run() throws IOException {
      Instant pointerExpires = request.created().plus(request.pointerLifetime());
      if (!pointerExpires.isAfter(clock.instant())) {
        throw new ConfigurationException(ErrorCode.METADATA_EXPIRED, "the channel pointer would expire at "
            + pointerExpires + ", which has passed: its lifetime counts from the build's timestamp "
            + request.created() + " (project.build.outputTimestamp). Update <project.build.outputTimestamp> with each"
            + " release (release:prepare does), or raise <pointerExpiryDays>");
      }
      TrustRoot root = RepositoryTrust.load(repository, clock);
      RepositoryTrust.requireReleaseKey(root, request.signingKey(), repository.location());
      verifier = new MetadataVerifier(root, clock);

      Path tree = Payloads.stage(request.payload(), request.app(), work.resolve("payload"), engine);
      PayloadTree payload = engine.scan(tree);
      if (payload.entries().isEmpty()) {
        throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + request.payload()
            + " is empty: point <payload> at the file or directory to release");
      }
      events.accept(Event.info("Payload " + request.payload().getFileName() + ": " + payload.entries().size()
          + " entries, " + Sizes.of(payload.totalSize()) + ", tree " + payload.treeHash().substring(0, 12)));

      String manifestPath = RepositoryLayout.releaseManifest(request.app(), request.version());
      Repository.Stored existing = repository.read(manifestPath, DocumentType.RELEASE.maxBytes());
      Published published;
      if (existing != null) {
        published = new Published(existingWithSameContent(existing.bytes(), payload), existing.bytes(), false);
        events.accept(Event.info(request.app() + " " + request.version() + " is already in " + repository.location()
            + " with identical content: nothing to build"));
      } else {
        published = buildAndPublish(tree, payload, manifestPath);
      }
      ReleaseManifest manifest = published.manifest();
      byte[] manifestBytes = published.bytes();
      BlobRef manifestRef = new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length);
      Moved moved = movePointer(manifestRef, pointerExpires);
      ReleaseResult.Status status = published.built() ? ReleaseResult.Status.PUBLISHED
          : moved.changed() ? ReleaseResult.Status.POINTER_UPDATED : ReleaseResult.Status.UNCHANGED;
      long packageSize = manifest.packageBlob().size();
      List<ReleaseResult.Delta> deltaSummary = manifest.deltas().stream().map(d -> new ReleaseResult.Delta(
          d.fromVersion(), d.blob(), (double) d.blob().size() / packageSize)).toList();
      return new ReleaseResult(status, request.app(), request.version(), request.channel(), repository.location(),
          manifest.sequence(), moved.sequence(), payload.treeHash(), payload.totalSize(), manifestRef, manifestPath,
          manifest.packageBlob(), deltaSummary, published.built(), manifest.rollout());
    }

    /** Builds the package and deltas, signs the manifest, publishes blobs then the manifest. */
    private Published buildAndPublish(Path tree, PayloadTree payload, String manifestPath) throws IOException {
      Head head = readHead();
      // Above the channel's head, and at least the build time in seconds: ordered across the app's
      // channels too, so a release promoted from beta to stable is not taken for a downgrade.
      long sequence = Math.max(head == null ? 1 : headManifest(head).sequence() + 1,
          request.created().getEpochSecond());
      BlobRef packageBlob = buildPackage(tree, payload);
      List<Built> deltas = buildDeltas(head, tree, payload, packageBlob);
      ReleaseManifest manifest = ReleaseManifest.of(request.app(), request.version(), sequence, request.created(),
          request.created().plus(request.manifestLifetime()), payload, packageBlob,
          deltas.stream().map(Built::ref).toList(), request.rollout(),
          request.labels().isEmpty() ? null : request.labels());
      byte[] envelope = Envelopes.sign(DocumentType.RELEASE, manifest, List.of(request.signingKey()));

      publishBlob(packageBlob, work.resolve("package"), "full package");
      for (Built delta : deltas) {
        publishBlob(delta.ref().blob(), delta.file(), "delta from " + delta.ref().fromVersion());
      }
      byte[] raced = repository.createManifest(request.app(), request.version(), envelope);
      if (raced != null) {
        events.accept(Event.info("another publisher published " + request.version()
            + " at the same time, with identical content: using its manifest"));
        return new Published(existingWithSameContent(raced, payload), raced, false);
      }
      events.accept(Event.info("Published manifest " + manifestPath));
      return new Published(manifest, envelope, true);
    }

    /**
     * A document of the channel's history, verified with the current trust root, or, when a key
     * was revoked since it was signed, with the earlier root version that named the key: the
     * history stays usable (sequence, delta bases) and the new release replaces it. A document no
     * version of the chain verifies is refused as before.
     */
    private <T> T signedBefore(java.util.function.Function<MetadataVerifier, T> check, String what)
        throws IOException {
      try {
        return check.apply(verifier);
      } catch (UpgradeException e) {
        if (e.code() != ErrorCode.SIGNATURE_INVALID && e.code() != ErrorCode.SIGNATURE_THRESHOLD) {
          throw e;
        }
        List<TrustRoot> chain = RepositoryTrust.chain(repository);
        for (int i = chain.size() - 2; i >= 0; i--) {
          try {
            T document = check.apply(new MetadataVerifier(chain.get(i), clock));
            events.accept(Event.warning(what + " is signed by a key that trust root version "
                + verifier.trustRoot().version() + " no longer names (it verifies with version "
                + chain.get(i).version() + "); nodes refuse it now: this release replaces it"));
            return document;
          } catch (UpgradeException earlier) {
            // not signed by this version's keys either
          }
        }
        throw e;
      }
    }

    private ReleaseManifest existingWithSameContent(byte[] bytes, PayloadTree payload) {
      ReleaseManifest existing = Documents.manifest(verifier, bytes, request.app(), request.version(), null);
      if (!existing.treeHash().equals(payload.treeHash())) {
        throw new ConfigurationException(ErrorCode.VERSION_EXISTS, request.app() + " " + request.version()
            + " is already published in " + repository.location() + " with different content (tree "
            + existing.treeHash().substring(0, 12) + ", this build " + payload.treeHash().substring(0, 12) + ")."
            + " Versions are immutable: release the change under a new <version> (the project version by default)");
      }
      // The plan is signed into the immutable manifest: a changed plan would silently not apply.
      if (!Objects.equals(existing.rollout(), request.rollout())) {
        throw new ConfigurationException(ErrorCode.VERSION_EXISTS, request.app() + " " + request.version()
            + " is already published in " + repository.location() + " with another rollout plan ("
            + plan(existing.rollout()) + "; this build: " + plan(request.rollout()) + "). The plan is part of the"
            + " signed, immutable release: restore the published <rollout> (and upgrade.rollout.* properties), or"
            + " release the change under a new <version>; a running rollout is steered with repo-server's rollout"
            + " commands");
      }
      return existing;
    }

    private static String plan(RolloutPlan plan) {
      return plan == null ? "none" : RolloutSettings.describe(plan);
    }

    private Head readHead() throws IOException {
      Repository.Stored stored = repository.read(RepositoryLayout.channelPointer(request.app(), request.channel()),
          DocumentType.CHANNEL.maxBytes());
      if (stored == null) {
        return null;
      }
      return new Head(stored, signedBefore(v -> Documents.pointer(v, stored.bytes(), request.app(), request.channel()),
          "channel " + request.channel() + "'s pointer"));
    }

    private ReleaseManifest headManifest(Head head) throws IOException {
      ChannelPointer pointer = head.pointer();
      Repository.Stored stored = repository.read(RepositoryLayout.releaseManifest(pointer.app(), pointer.version()),
          DocumentType.RELEASE.maxBytes());
      if (stored == null) {
        throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "channel " + request.channel() + " points at "
            + pointer.version() + ", whose manifest is missing from " + repository.location()
            + "; run 'mvn upgrade:verify' on the repository");
      }
      return signedBefore(v -> Documents.manifest(v, stored.bytes(), pointer.app(), pointer.version(),
          pointer.manifest()), "the manifest of " + pointer.version());
    }

    private BlobRef buildPackage(Path tree, PayloadTree payload) throws IOException {
      Path packageFile = work.resolve("package");
      engine.diff(null, tree, packageFile);
      requireReproduces(null, packageFile, payload, "the full package");
      BlobRef ref = Blobs.of(packageFile);
      events.accept(Event.info("Full package: " + Sizes.of(ref.size()) + " (verified)"));
      return ref;
    }

    private List<Built> buildDeltas(Head head, Path tree, PayloadTree payload, BlobRef packageBlob)
        throws IOException {
      if (head == null || request.deltaCount() == 0) {
        return List.of();
      }
      Set<String> bases = new LinkedHashSet<>();
      bases.add(head.pointer().version());
      if (head.pointer().previous() != null) {
        bases.addAll(head.pointer().previous());
      }
      bases.remove(request.version());
      List<String> chosen = bases.stream().limit(request.deltaCount()).toList();
      List<Built> deltas = new ArrayList<>();
      int index = 0;
      for (String base : chosen) {
        events.accept(new Event.Progress("deltas", index++, chosen.size()));
        Built delta = buildDelta(base, tree, payload, packageBlob);
        if (delta != null) {
          deltas.add(delta);
        }
      }
      events.accept(new Event.Progress("deltas", chosen.size(), chosen.size()));
      return deltas;
    }

    private Built buildDelta(String base, Path tree, PayloadTree payload, BlobRef packageBlob) throws IOException {
      Repository.Stored stored = repository.read(RepositoryLayout.releaseManifest(request.app(), base),
          DocumentType.RELEASE.maxBytes());
      if (stored == null) {
        events.accept(Event.warning("release " + base + " is in channel " + request.channel()
            + "'s history but not in the repository: no delta from it"));
        return null;
      }
      ReleaseManifest baseManifest = signedBefore(v -> Documents.manifest(v, stored.bytes(), request.app(), base, null),
          "the manifest of " + base);
      if (baseManifest.treeHash().equals(payload.treeHash())) {
        events.accept(Event.info("release " + base + " has the same content: no delta needed from it"));
        return null;
      }
      String name = Hashes.sha256(base.getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 16);
      Path basePackage = work.resolve("base-" + name + ".package");
      if (!repository.fetchBlob(baseManifest.packageBlob(), basePackage)) {
        throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "the package of release " + base + " ("
            + baseManifest.packageBlob().sha256() + ") is missing from " + repository.location()
            + "; run 'mvn upgrade:verify' on the repository");
      }
      Path baseTree = work.resolve("base-" + name);
      engine.apply(null, basePackage, baseTree);
      String rebuilt = engine.scan(baseTree).treeHash();
      if (!rebuilt.equals(baseManifest.treeHash())) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH, "the package of release " + base
            + " does not reproduce its signed tree; run 'mvn upgrade:verify' on the repository");
      }
      Path delta = work.resolve("delta-" + name);
      engine.diff(baseTree, tree, delta);
      requireReproduces(baseTree, delta, payload, "the delta from " + base);
      BlobRef ref = Blobs.of(delta);
      String ratio = Sizes.percent((double) ref.size() / packageBlob.size());
      if (ref.size() >= packageBlob.size()) {
        events.accept(Event.info("Delta from " + base + ": " + Sizes.of(ref.size()) + " (" + ratio
            + " of the full package): not smaller, left out"));
        return null;
      }
      events.accept(Event.info("Delta from " + base + ": " + Sizes.of(ref.size()) + " (" + ratio
          + " of the full package, verified)"));
      return new Built(new DeltaRef(base, baseManifest.treeHash(), ref), delta);
    }

    /** Applies the blob and compares the result with the release's tree: nothing unproven is published. */
    private void requireReproduces(Path baseTree, Path blob, PayloadTree payload, String what) throws IOException {
      Path check = work.resolve("check");
      FileTrees.deleteRecursively(check);
      engine.apply(baseTree, blob, check);
      String actual = engine.scan(check).treeHash();
      FileTrees.deleteRecursively(check);
      if (!actual.equals(payload.treeHash())) {
        throw new UpgradeException(ErrorCode.HASH_MISMATCH, what + " does not reproduce the release's tree"
            + " (got tree " + actual + ", expected " + payload.treeHash() + "); nothing was published");
      }
    }

    private void publishBlob(BlobRef blob, Path file, String what) throws IOException {
      boolean written = repository.putBlob(blob, file);
      events.accept(Event.detail((written ? "uploaded " : "already present: ") + what + " "
          + RepositoryLayout.blob(blob.sha256())));
    }

    private Moved movePointer(BlobRef manifestRef, Instant expires) throws IOException {
      for (int attempt = 1; attempt <= request.pointerAttempts(); attempt++) {
        Head head = readHead();
        if (head != null) {
          ChannelPointer current = head.pointer();
          if (current.version().equals(request.version())) {
            if (!current.manifest().equals(manifestRef)) {
              throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "channel " + request.channel()
                  + " points at " + request.version() + " but at another manifest file than "
                  + RepositoryLayout.releaseManifest(request.app(), request.version())
                  + "; run 'mvn upgrade:verify' on the repository");
            }
            events.accept(Event.info("Channel " + request.channel() + " already points at " + request.version()));
            return new Moved(false, current.sequence());
          }
          if (current.previous() != null && current.previous().contains(request.version())) {
            events.accept(Event.info("Channel " + request.channel() + " has moved on from " + request.version()
                + " to " + current.version() + ": pointer left as it is"));
            return new Moved(false, current.sequence());
          }
        }
        long sequence = head == null ? 1 : head.pointer().sequence() + 1;
        List<String> previous = new ArrayList<>();
        if (head != null) {
          previous.add(head.pointer().version());
          if (head.pointer().previous() != null) {
            previous.addAll(head.pointer().previous());
          }
        }
        previous = previous.stream().filter(v -> !v.equals(request.version())).distinct()
            .limit(ChannelPointer.MAX_PREVIOUS).toList();
        ChannelPointer pointer = ChannelPointer.of(request.app(), request.channel(), request.version(), sequence,
            expires, manifestRef, previous.isEmpty() ? null : previous);
        byte[] envelope = Envelopes.sign(DocumentType.CHANNEL, pointer, List.of(request.signingKey()));
        if (repository.replacePointer(request.app(), request.channel(), head == null ? null : head.stored(),
            head == null ? 0 : head.pointer().sequence(), envelope, sequence)) {
          events.accept(Event.info("Channel " + request.channel() + " -> " + request.version() + " (sequence "
              + sequence + ")"));
          return new Moved(true, sequence);
        }
        events.accept(Event.info("another publisher moved channel " + request.channel() + " first (attempt "
            + attempt + " of " + request.pointerAttempts() + "); retrying on its new head"));
      }
      throw new UpgradeException(ErrorCode.IO_ERROR, "channel " + request.channel() + " in " + repository.location()
          + " kept changing under " + request.pointerAttempts() + " attempts to move it to " + request.version()
          + ". The release itself is published (" + RepositoryLayout.releaseManifest(request.app(), request.version())
          + "); run the release again to move the channel to it");
    }
  }

  private record Head(Repository.Stored stored, ChannelPointer pointer) {}

  private record Built(DeltaRef ref, Path file) {}

  private record Moved(boolean changed, long sequence) {}

  /** The manifest the release ends with, and whether this run created it. */
  private record Published(ReleaseManifest manifest, byte[] bytes, boolean built) {}
}
