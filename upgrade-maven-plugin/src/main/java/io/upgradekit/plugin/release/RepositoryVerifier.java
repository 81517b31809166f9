package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Checks a whole repository offline, as a node would trust it, and lists every problem with its
 * code instead of stopping at the first:
 *
 * <ul>
 *   <li>the trust-root chain from {@code roots/1.root.json}, and {@code root.json} equal to its last
 *       version;
 *   <li>every blob's SHA-256 against its name;
 *   <li>every release manifest's signature (release role), and every blob it references present with
 *       its size;
 *   <li>every package rebuilds its release's tree from nothing, and every delta rebuilds it from its
 *       base release's tree;
 *   <li>every channel pointer's signature and expiry, and the manifest it names present with the
 *       referenced hash and size (and not expired), and its {@code previous} releases present;
 *   <li>every rollout state's signature (rollout role).
 * </ul>
 */
public final class RepositoryVerifier {
  private final DeltaEngine engine;
  private final Clock clock;
  private final Consumer<Event> events;

  public RepositoryVerifier(DeltaEngine engine, Clock clock, Consumer<Event> events) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * One thing wrong.
   *
   * @param code the error code a node would report for it
   * @param path the repository path it concerns
   * @param message what is wrong
   */
  public record Problem(ErrorCode code, String path, String message) {
    @Override
    public String toString() {
      return code + " " + path + ": " + message;
    }
  }

  /**
   * The outcome.
   *
   * @param repository where
   * @param releases release manifests checked
   * @param channels channel pointers checked
   * @param blobs blobs checked
   * @param deltas deltas applied
   * @param problems everything wrong, empty when the repository is sound
   */
  public record Report(String repository, int releases, int channels, int blobs, int deltas, List<Problem> problems) {
    public Report {
      problems = List.copyOf(problems);
    }

    public boolean ok() {
      return problems.isEmpty();
    }
  }

  /** Checks a repository that can be listed (a directory): every file in it. */
  public Report verify(Repository repository, Path work) {
    return verify(repository, List.of(), work);
  }

  /**
   * Checks a repository. One that cannot be listed (HTTP) is walked from the given channel
   * pointers: the releases they name and list as {@code previous}, the bases of their deltas, and
   * every blob those reference.
   *
   * @param channels {@code app/channel} pairs to start from when the repository cannot be listed
   * @param work where to make a private scratch directory for rebuilt trees (deleted after)
   * @throws UpgradeException IO_ERROR if the repository cannot be read at all
   */
  public Report verify(Repository repository, List<String> channels, Path work) {
    try {
      Files.createDirectories(work);
      Path scratch = Files.createTempDirectory(work, "verify-");
      try {
        return new Run(repository, channels, scratch).run();
      } finally {
        FileTrees.deleteRecursively(scratch);
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read the repository " + repository.location() + ": "
          + e, e);
    }
  }

  private final class Run {
    private final Repository repository;
    private final List<String> channelsToWalk;
    private final Path work;
    /** blob hash -> the size a manifest gives it (for repositories that cannot be listed) */
    private final Map<String, Long> referencedSizes = new HashMap<>();
    private final List<Problem> problems = new ArrayList<>();
    private final Map<String, Long> blobs = new HashMap<>();
    /** app -> version -> manifest */
    private final Map<String, Map<String, ReleaseManifest>> manifests = new TreeMap<>();
    /** path of a manifest -> its file's bytes' hash and size */
    private final Map<String, BlobRef> manifestFiles = new HashMap<>();
    /** app + "/" + version -> rebuilt tree, for deltas */
    private final Map<String, Path> trees = new HashMap<>();
    private MetadataVerifier verifier;
    private int deltas;
    private int channels;

    Run(Repository repository, List<String> channelsToWalk, Path work) {
      this.repository = repository;
      this.channelsToWalk = channelsToWalk;
      this.work = work;
    }

    /** Every file of the repository: listed if it can be, else reached from the channel pointers. */
    private List<String> files() throws IOException {
      try {
        return repository.listFiles();
      } catch (UnsupportedOperationException e) {
        if (channelsToWalk.isEmpty()) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, repository.location() + " cannot be listed: name"
              + " the channels to start from (<app> and <channel>)");
        }
        return reachable();
      }
    }

    /** Paths reachable from the channel pointers, read without trusting them (they are verified later). */
    private List<String> reachable() throws IOException {
      java.util.Set<String> files = new java.util.TreeSet<>();
      java.util.Deque<String> manifestsToRead = new java.util.ArrayDeque<>();
      for (String appAndChannel : channelsToWalk) {
        String[] parts = appAndChannel.split("/", 2);
        String path = RepositoryLayout.channelPointer(parts[0], parts[1]);
        Repository.Stored stored = repository.read(path, DocumentType.CHANNEL.maxBytes());
        if (stored == null) {
          problems.add(new Problem(ErrorCode.REFERENCE_MISSING, path, "the channel has no pointer"));
          continue;
        }
        files.add(path);
        ChannelPointer pointer = unverified(stored.bytes(), DocumentType.CHANNEL, ChannelPointer.class);
        if (pointer != null) {
          manifestsToRead.add(RepositoryLayout.releaseManifest(parts[0], pointer.version()));
          if (pointer.previous() != null) {
            pointer.previous().forEach(v -> manifestsToRead.add(RepositoryLayout.releaseManifest(parts[0], v)));
          }
        }
      }
      while (!manifestsToRead.isEmpty()) {
        String path = manifestsToRead.pop();
        if (!files.add(path)) {
          continue;
        }
        Repository.Stored stored = repository.read(path, DocumentType.RELEASE.maxBytes());
        ReleaseManifest manifest = stored == null ? null
            : unverified(stored.bytes(), DocumentType.RELEASE, ReleaseManifest.class);
        if (manifest == null) {
          files.remove(path); // reported as missing by the pointer checks
          continue;
        }
        referencedSizes.put(manifest.packageBlob().sha256(), manifest.packageBlob().size());
        files.add(RepositoryLayout.blob(manifest.packageBlob().sha256()));
        for (DeltaRef delta : manifest.deltas()) {
          referencedSizes.put(delta.blob().sha256(), delta.blob().size());
          files.add(RepositoryLayout.blob(delta.blob().sha256()));
          manifestsToRead.add(RepositoryLayout.releaseManifest(manifest.app(), delta.fromVersion()));
        }
      }
      files.add(RepositoryLayout.trustRoot());
      return new ArrayList<>(files);
    }

    private <T> T unverified(byte[] bytes, DocumentType type, Class<T> documentClass) {
      try {
        return io.upgradekit.schema.json.Json.read(io.upgradekit.schema.sign.Envelopes.parse(bytes, type).payloadBytes(),
            documentClass, type.typeName());
      } catch (UpgradeException e) {
        return null; // the signature check reports it
      }
    }

    Report run() throws IOException {
      List<String> files = files();
      events.accept(Event.info("Verifying " + repository.location() + " (" + files.size() + " files)"));
      TrustRoot root;
      try {
        root = RepositoryTrust.load(repository, clock);
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), RepositoryLayout.trustRoot(1), e.getMessage()));
        return report();
      }
      verifier = new MetadataVerifier(root, clock);
      checkCurrentRoot(root);

      List<String> pointers = new ArrayList<>();
      List<String> sets = new ArrayList<>();
      for (String path : files) {
        PathKind kind = RepositoryLayout.kindOf(path);
        switch (kind) {
          case BLOB -> checkBlob(path);
          case RELEASE_MANIFEST -> readManifest(path);
          case CHANNEL_POINTER -> pointers.add(path);
          case RELEASE_SET -> sets.add(path);
          case ROLLOUT_STATE -> checkRollout(path);
          default -> { } // trust roots are walked above; claims and feedback are unsigned server state
        }
      }
      int count = manifests.values().stream().mapToInt(Map::size).sum();
      int done = 0;
      for (Map<String, ReleaseManifest> versions : manifests.values()) {
        for (ReleaseManifest manifest : versions.values()) {
          events.accept(new Event.Progress("packages", done++, count));
          checkPackage(manifest);
        }
      }
      events.accept(new Event.Progress("packages", count, count));
      for (Map<String, ReleaseManifest> versions : manifests.values()) {
        for (ReleaseManifest manifest : versions.values()) {
          for (DeltaRef delta : manifest.deltas()) {
            checkDelta(manifest, delta);
          }
        }
      }
      for (String path : pointers) {
        checkPointer(path);
      }
      for (String path : sets) {
        checkSet(path);
      }
      return report();
    }

    /** A release set: signed by the release role, sound, for its path, and every component's release here. */
    private void checkSet(String path) throws IOException {
      String[] segments = path.split("/");
      String version = segments[2].substring(0, segments[2].length() - ".json".length());
      Repository.Stored stored = repository.read(path, DocumentType.RELEASE_SET.maxBytes());
      ReleaseSet set;
      try {
        set = verifier.verifyReleaseSet(stored.bytes(), segments[1], version);
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, e.getMessage()));
        return;
      }
      for (ReleaseSet.Component c : set.components()) {
        if (!manifests.getOrDefault(c.app(), Map.of()).containsKey(c.version())) {
          problems.add(new Problem(ErrorCode.REFERENCE_MISSING, path, "names " + c.app() + " " + c.version()
              + ", whose release " + RepositoryLayout.releaseManifest(c.app(), c.version()) + " is missing or damaged"));
        }
      }
    }

    private Report report() {
      int releases = manifests.values().stream().mapToInt(Map::size).sum();
      return new Report(repository.location(), releases, channels, blobs.size(), deltas, problems);
    }

    private void checkCurrentRoot(TrustRoot root) throws IOException {
      Repository.Stored current = repository.read(RepositoryLayout.trustRoot(), DocumentType.ROOT.maxBytes());
      Repository.Stored last = repository.read(RepositoryLayout.trustRoot(root.version()), DocumentType.ROOT.maxBytes());
      if (current == null) {
        problems.add(new Problem(ErrorCode.METADATA_INCONSISTENT, RepositoryLayout.trustRoot(),
            "missing; it must be a copy of " + RepositoryLayout.trustRoot(root.version())));
      } else if (last == null || !Arrays.equals(current.bytes(), last.bytes())) {
        problems.add(new Problem(ErrorCode.METADATA_INCONSISTENT, RepositoryLayout.trustRoot(),
            "differs from the last trust root in the chain, " + RepositoryLayout.trustRoot(root.version())));
      }
    }

    private void checkBlob(String path) throws IOException {
      String name = path.substring(path.lastIndexOf('/') + 1);
      Path copy = work.resolve("blob");
      Files.deleteIfExists(copy);
      long size = sizeOf(path);
      try {
        if (repository.fetchBlob(new BlobRef(name, size), copy)) {
          blobs.put(name, size);
        }
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, "content does not match the SHA-256 in its name"));
      } finally {
        Files.deleteIfExists(copy);
      }
    }

    private long sizeOf(String path) throws IOException {
      if (repository instanceof StoreRepository store) {
        return store.sizeOf(path).orElseThrow(() -> new NoSuchFileException(path));
      }
      return referencedSizes.get(path.substring(path.lastIndexOf('/') + 1));
    }

    private void readManifest(String path) throws IOException {
      String[] segments = path.split("/");
      String app = segments[1];
      String version = segments[3];
      Repository.Stored stored = repository.read(path, DocumentType.RELEASE.maxBytes());
      try {
        ReleaseManifest manifest = Documents.manifest(verifier, stored.bytes(), app, version, null);
        manifests.computeIfAbsent(app, a -> new TreeMap<>()).put(version, manifest);
        manifestFiles.put(path, new BlobRef(Hashes.sha256(stored.bytes()), stored.bytes().length));
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, e.getMessage()));
      }
    }

    private void checkRollout(String path) throws IOException {
      Repository.Stored stored = repository.read(path, DocumentType.ROLLOUT.maxBytes());
      try {
        verifier.verifyDocument(stored.bytes(), DocumentType.ROLLOUT, RolloutState.class);
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, e.getMessage()));
      }
    }

    private boolean present(BlobRef blob, String manifestPath, String what) {
      Long size = blobs.get(blob.sha256());
      if (size == null) {
        problems.add(new Problem(ErrorCode.REFERENCE_MISSING, manifestPath, what + " "
            + RepositoryLayout.blob(blob.sha256()) + " is missing or damaged"));
        return false;
      }
      if (size != blob.size()) {
        problems.add(new Problem(ErrorCode.METADATA_INCONSISTENT, manifestPath, what + " "
            + RepositoryLayout.blob(blob.sha256()) + " is " + size + " bytes, the manifest says " + blob.size()));
        return false;
      }
      return true;
    }

    private void checkPackage(ReleaseManifest manifest) throws IOException {
      String path = RepositoryLayout.releaseManifest(manifest.app(), manifest.version());
      if (!present(manifest.packageBlob(), path, "package")) {
        return;
      }
      Path tree = work.resolve("tree-" + trees.size());
      if (rebuild(null, manifest.packageBlob(), tree, manifest, path, "the package")) {
        trees.put(manifest.app() + "/" + manifest.version(), tree);
      }
    }

    private void checkDelta(ReleaseManifest manifest, DeltaRef delta) throws IOException {
      String path = RepositoryLayout.releaseManifest(manifest.app(), manifest.version());
      String what = "the delta from " + delta.fromVersion();
      if (!present(delta.blob(), path, what)) {
        return;
      }
      ReleaseManifest base = manifests.getOrDefault(manifest.app(), Map.of()).get(delta.fromVersion());
      Path baseTree = trees.get(manifest.app() + "/" + delta.fromVersion());
      if (base == null || baseTree == null) {
        problems.add(new Problem(ErrorCode.REFERENCE_MISSING, path, what + " cannot be checked: release "
            + delta.fromVersion() + " is missing or broken"));
        return;
      }
      if (!base.treeHash().equals(delta.fromTreeHash())) {
        problems.add(new Problem(ErrorCode.BASE_MISMATCH, path, what + " is for tree " + delta.fromTreeHash()
            + ", but release " + delta.fromVersion() + " has tree " + base.treeHash()));
        return;
      }
      deltas++;
      Path out = work.resolve("check");
      rebuild(baseTree, delta.blob(), out, manifest, path, what);
      FileTrees.deleteRecursively(out);
    }

    /** Applies a blob and compares the result with the manifest's tree; records a problem if not. */
    private boolean rebuild(Path baseTree, BlobRef blob, Path out, ReleaseManifest manifest, String path, String what)
        throws IOException {
      Path file = work.resolve("blob");
      Files.deleteIfExists(file);
      try {
        repository.fetchBlob(blob, file);
        engine.apply(baseTree, file, out);
        String actual = engine.scan(out).treeHash();
        if (!actual.equals(manifest.treeHash())) {
          problems.add(new Problem(ErrorCode.HASH_MISMATCH, path, what + " rebuilds tree " + actual
              + ", not the signed " + manifest.treeHash()));
          return false;
        }
        return true;
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, what + ": " + e.getMessage()));
        return false;
      } finally {
        Files.deleteIfExists(file);
      }
    }

    private void checkPointer(String path) throws IOException {
      channels++;
      String[] segments = path.split("/");
      String app = segments[1];
      String channel = segments[3].substring(0, segments[3].length() - ".json".length());
      Repository.Stored stored = repository.read(path, DocumentType.CHANNEL.maxBytes());
      ChannelPointer pointer;
      try {
        pointer = Documents.pointer(verifier, stored.bytes(), app, channel);
      } catch (UpgradeException e) {
        problems.add(new Problem(e.code(), path, e.getMessage()));
        return;
      }
      if (!clock.instant().isBefore(pointer.expires())) {
        problems.add(new Problem(ErrorCode.METADATA_EXPIRED, path, "expired at " + pointer.expires()
            + "; nodes refuse it until a new release is published to the channel"));
      }
      String manifestPath = RepositoryLayout.releaseManifest(app, pointer.version());
      BlobRef actual = manifestFiles.get(manifestPath);
      ReleaseManifest manifest = manifests.getOrDefault(app, Map.of()).get(pointer.version());
      if (actual == null || manifest == null) {
        problems.add(new Problem(ErrorCode.REFERENCE_MISSING, path, "points at " + pointer.version()
            + ", whose manifest " + manifestPath + " is missing or invalid"));
      } else if (!actual.equals(pointer.manifest())) {
        problems.add(new Problem(ErrorCode.METADATA_INCONSISTENT, path, "names manifest " + pointer.manifest()
            + ", but " + manifestPath + " is " + actual));
      } else if (!clock.instant().isBefore(manifest.expires())) {
        problems.add(new Problem(ErrorCode.METADATA_EXPIRED, manifestPath, "the release the channel points at"
            + " expired at " + manifest.expires()));
      }
      if (pointer.previous() != null) {
        for (String previous : pointer.previous()) {
          if (!manifestFiles.containsKey(RepositoryLayout.releaseManifest(app, previous))) {
            problems.add(new Problem(ErrorCode.REFERENCE_MISSING, path, "lists earlier release " + previous
                + ", which the repository does not have (or whose manifest is invalid)"));
          }
        }
      }
    }
  }
}
