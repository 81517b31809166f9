package io.upgradekit.updater.testsupport;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A signed repository directory built the way the plugin publishes: blobs, manifest, pointer. */
public final class TestRepo {
  public record Release(String version, long sequence, Map<String, byte[]> files, ReleaseManifest manifest) {}

  private final Path dir;
  private final SigningKey rootKey = SigningKey.generate();
  private SigningKey releaseKey = SigningKey.generate();
  /** The rollout role's key (repo-server's online key): rollout states and lease grants. */
  private final SigningKey rolloutKey = SigningKey.generate();
  private final Map<String, Release> releases = new HashMap<>();
  private long pointerSequence;

  public TestRepo(Path dir) {
    this.dir = dir;
    write("root.json", rootEnvelope(1));
  }

  /** How long manifests published from now on are valid. */
  public Duration manifestLifetime = Duration.ofDays(30);

  private byte[] rootEnvelope(long version) {
    return rootEnvelope(version, Instant.now().plus(Duration.ofDays(365)));
  }

  /** Publishes root version 2, which expired an hour ago: nodes walking to it refuse it. */
  public void publishExpiredRoot() {
    write(RepositoryLayout.trustRoot(2), rootEnvelope(2, Instant.now().minus(Duration.ofHours(1))));
  }

  private byte[] rootEnvelope(long version, Instant expires) {
    Map<String, PublicKeyEntry> keys = new TreeMap<>();
    keys.put(rootKey.keyId(), entry(rootKey));
    keys.put(releaseKey.keyId(), entry(releaseKey));
    keys.put(rolloutKey.keyId(), entry(rolloutKey));
    Map<Role, RoleKeys> roles = new HashMap<>();
    roles.put(Role.ROOT, roleKeys(rootKey));
    roles.put(Role.RELEASE, roleKeys(releaseKey));
    roles.put(Role.ROLLOUT, roleKeys(rolloutKey));
    TrustRoot root = TrustRoot.of(version, expires, keys, roles);
    return Envelopes.sign(DocumentType.ROOT, root, List.of(rootKey));
  }

  /** Rotates the release key: publishes root version 2 naming a new release key, which signs from now on. */
  public void rotateReleaseKey() {
    releaseKey = SigningKey.generate();
    write(RepositoryLayout.trustRoot(2), rootEnvelope(2));
  }

  private static PublicKeyEntry entry(SigningKey key) {
    return PublicKeyEntry.ed25519(key.publicKey().getEncoded());
  }

  private static RoleKeys roleKeys(SigningKey key) {
    return new RoleKeys(List.of(key.keyId()), 1);
  }

  public SigningKey releaseKey() {
    return releaseKey;
  }

  public SigningKey rolloutKey() {
    return rolloutKey;
  }

  /** Writes a file into the repository directory (as a publisher or repo-server would). */
  public void put(String relative, byte[] bytes) {
    write(relative, bytes);
  }

  public Path dir() {
    return dir;
  }

  public Path pinnedRoot() {
    return dir.resolve("root.json");
  }

  /** Publishes a release with deltas from the given earlier versions. */
  public Release publish(String version, long sequence, Map<String, byte[]> files, String... deltaFrom) {
    return publish(version, sequence, files, null, deltaFrom);
  }

  /**
   * Publishes a release whose package and deltas were built elsewhere (by the real delta engine).
   *
   * @param deltas base version to delta bytes
   */
  public Release publishBuilt(String version, long sequence, PayloadTree tree, byte[] pkg, Map<String, byte[]> deltas) {
    List<DeltaRef> refs = new ArrayList<>();
    deltas.forEach((from, bytes) -> refs.add(new DeltaRef(from, releases.get(from).manifest().payload().treeHash(),
        putBlob(bytes))));
    ReleaseManifest manifest = ReleaseManifest.of("demo", version, sequence, Instant.now(),
        Instant.now().plus(Duration.ofDays(30)), tree, putBlob(pkg), refs, null, null);
    write(RepositoryLayout.releaseManifest("demo", version), Envelopes.sign(DocumentType.RELEASE, manifest,
        List.of(releaseKey)));
    Release release = new Release(version, sequence, Map.of(), manifest);
    releases.put(version, release);
    return release;
  }

  /** Publishes a release carrying a rollout plan. */
  public Release publish(String version, long sequence, Map<String, byte[]> files,
      io.upgradekit.schema.model.RolloutPlan plan, String... deltaFrom) {
    List<TreeEntry> entries = new ArrayList<>();
    files.forEach((path, bytes) -> entries.add(TreeEntry.file(path, bytes.length, Hashes.sha256(bytes), false)));
    PayloadTree tree = new PayloadTree(entries);
    BlobRef pkg = putBlob(FakeApplier.blob(Map.of(), files));
    List<DeltaRef> deltas = new ArrayList<>();
    for (String from : deltaFrom) {
      Release base = releases.get(from);
      deltas.add(new DeltaRef(from, base.manifest().payload().treeHash(), putBlob(FakeApplier.blob(base.files(), files))));
    }
    ReleaseManifest manifest = ReleaseManifest.of("demo", version, sequence, Instant.now(),
        Instant.now().plus(manifestLifetime), tree, pkg, deltas, plan, null);
    write(RepositoryLayout.releaseManifest("demo", version), Envelopes.sign(DocumentType.RELEASE, manifest,
        List.of(releaseKey)));
    Release release = new Release(version, sequence, Map.copyOf(files), manifest);
    releases.put(version, release);
    return release;
  }

  /** Points the channel at a release (signed by the release key, expiring in a day). */
  public void point(String channel, Release release) {
    point(channel, release, Instant.now().plus(Duration.ofDays(1)), releaseKey);
  }

  public void point(String channel, Release release, Instant expires, SigningKey key) {
    byte[] manifestBytes = read(RepositoryLayout.releaseManifest("demo", release.version()));
    ChannelPointer pointer = ChannelPointer.of("demo", channel, release.version(), ++pointerSequence, expires,
        new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length), null);
    write(RepositoryLayout.channelPointer("demo", channel), Envelopes.sign(DocumentType.CHANNEL, pointer, List.of(key)));
  }

  /**
   * Points the channel at a version with a manifest reference of the test's choosing (a size or hash
   * that differs from the manifest's), signed by the release key.
   */
  public void pointWithManifestRef(String channel, String version, BlobRef manifest) {
    ChannelPointer pointer = ChannelPointer.of("demo", channel, version, ++pointerSequence,
        Instant.now().plus(Duration.ofDays(1)), manifest, null);
    write(RepositoryLayout.channelPointer("demo", channel), Envelopes.sign(DocumentType.CHANNEL, pointer,
        List.of(releaseKey)));
  }

  /** Publishes the rollout state of a release, signed by the rollout key. */
  public void rollout(String version, long sequence, io.upgradekit.schema.model.RolloutState.Action action,
      Instant expires) {
    var state = new io.upgradekit.schema.model.RolloutState(DocumentType.ROLLOUT.typeName(), "demo", version, sequence,
        expires, action, null, action == io.upgradekit.schema.model.RolloutState.Action.RECALL ? "1.0.0" : null);
    write(RepositoryLayout.rolloutState("demo", version), Envelopes.sign(DocumentType.ROLLOUT, state,
        List.of(rolloutKey)));
  }

  public Path blobFile(BlobRef blob) {
    return dir.resolve(RepositoryLayout.blob(blob.sha256()));
  }

  private BlobRef putBlob(byte[] bytes) {
    BlobRef ref = new BlobRef(Hashes.sha256(bytes), bytes.length);
    write(RepositoryLayout.blob(ref.sha256()), bytes);
    return ref;
  }

  private void write(String relative, byte[] bytes) {
    try {
      Path file = dir.resolve(relative);
      Files.createDirectories(file.getParent());
      Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private byte[] read(String relative) {
    try {
      return Files.readAllBytes(dir.resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
