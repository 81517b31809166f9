package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.store.TrustRootPublisher;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Creates a release key, and optionally the first trust root of a new repository (a directory or a
 * bucket), so that a new user starts from nothing with two commands ({@code keygen}, then {@code
 * release}).
 *
 * <p>The key file holds both PEM blocks (private and public) and is created with mode 0600 from its
 * first byte (never written wider and narrowed later); the public key goes beside it as {@code
 * <keyFile>.pub}. Existing files are never overwritten.
 */
public final class KeyGenerator {
  public static final Duration DEFAULT_ROOT_LIFETIME = Duration.ofDays(365);

  private final Clock clock;
  private final Consumer<Event> events;

  public KeyGenerator(Clock clock, Consumer<Event> events) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * What to create.
   *
   * @param keyFile the private key file ({@code <keyFile>}); {@code <keyFile>.pub} gets the public key
   * @param repository a repository to give a trust root naming the new key: a directory or an
   *     {@code s3://} store address (see {@link Repositories#openStore}); or null
   * @param rootKey the offline root key ({@code <rootKeyFile>}), or null. Without it the new key
   *     holds every role of a new repository's first trust root. With it, the root key keeps the
   *     root role and the new key gets the release and rollout roles: in a new repository's first
   *     trust root, or, in a repository whose root role the root key holds, in the next trust root
   *     version (a rotation of the release key)
   * @param rootLifetime how long the trust root is valid
   */
  public record Request(Path keyFile, String repository, SigningKey rootKey, Duration rootLifetime,
      List<String> revokeKeys) {
    /** A request for a directory repository (or none). */
    public Request(Path keyFile, Path repository, SigningKey rootKey, Duration rootLifetime) {
      this(keyFile, repository == null ? null : repository.toAbsolutePath().toString(), rootKey, rootLifetime);
    }

    /** A request that revokes no key. */
    public Request(Path keyFile, String repository, SigningKey rootKey, Duration rootLifetime) {
      this(keyFile, repository, rootKey, rootLifetime, List.of());
    }

    public Request {
      if (keyFile == null) {
        throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> is not set: run 'mvn upgrade:keygen"
            + " -Dupgrade.keyFile=PATH' with the path of the key file to create (keep it outside the project)");
      }
      if (rootLifetime == null || rootLifetime.isNegative() || rootLifetime.isZero()) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<rootExpiryDays> must be at least 1 day");
      }
      revokeKeys = revokeKeys == null ? List.of() : revokeKeys.stream().map(String::strip).filter(k -> !k.isEmpty())
          .distinct().toList();
      if (!revokeKeys.isEmpty() && (rootKey == null || repository == null)) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<revokeKeys> takes keys out of a repository's"
            + " trust root: set <rootKeyFile> (the root key signs the next version) and <repository>");
      }
    }
  }

  /**
   * What was created.
   *
   * @param keyId the new key's id
   * @param publicKeyFile where the public key is
   * @param trustRootVersion the version of the trust root written into the repository, or 0 if none
   */
  public record Result(String keyId, Path publicKeyFile, long trustRootVersion) {
    public boolean trustRootCreated() {
      return trustRootVersion > 0;
    }
  }

  /**
   * @throws ConfigurationException KEY_INVALID if a key file exists already
   * @throws UpgradeException IO_ERROR if the files cannot be written
   */
  public Result generate(Request request) {
    Path keyFile = request.keyFile().toAbsolutePath();
    Path publicFile = keyFile.resolveSibling(keyFile.getFileName() + ".pub");
    for (Path existing : List.of(keyFile, publicFile)) {
      if (Files.exists(existing)) {
        throw new ConfigurationException(ErrorCode.KEY_INVALID, existing + " already exists; keygen never"
            + " overwrites a key (documents signed with it would stop verifying): choose another <keyFile>");
      }
    }
    if (!request.revokeKeys().isEmpty()) {
      requireRevocable(request); // before a key file exists: a refused revocation leaves nothing behind
    }
    SigningKey key = SigningKey.generate();
    try {
      Files.createDirectories(keyFile.getParent());
      writeNew(keyFile, key.toPem(), true);
      writeNew(publicFile, key.publicKeyPem(), false);
    } catch (FileAlreadyExistsException e) {
      throw new ConfigurationException(ErrorCode.KEY_INVALID, e.getFile() + " already exists; keygen never"
          + " overwrites a key: choose another <keyFile>", e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write the key file " + keyFile + ": " + e, e);
    }
    events.accept(Event.info("Created signing key " + key.keyId()));
    events.accept(Event.info("  private key (keep it secret, mode 0600): " + keyFile));
    events.accept(Event.info("  public key: " + publicFile));
    long version = request.repository() == null ? 0 : writeTrustRoot(request, key);
    return new Result(key.keyId(), publicFile, version);
  }

  private long writeTrustRoot(Request request, SigningKey key) {
    String where = request.repository();
    if (!Repositories.isObjectStore(where)) {
      try {
        Files.createDirectories(Path.of(where));
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot create the repository directory " + where + ": " + e, e);
      }
    }
    try (StoreRepository repository = Repositories.openStore(where, Path.of("").toAbsolutePath(), message -> { })) {
      boolean exists = repository.store().stat(RepositoryLayout.trustRoot()).isPresent()
          || repository.store().stat(RepositoryLayout.trustRoot(1)).isPresent();
      if (!exists) {
        if (!request.revokeKeys().isEmpty()) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, repository.location() + " has no trust root:"
              + " there is no key to revoke (<revokeKeys>)");
        }
        return publish(repository, 1, request, key, request.rootKey() == null ? key : request.rootKey(), null);
      }
      if (request.rootKey() == null) {
        events.accept(Event.warning(repository.location() + " has a trust root already; it was left as it is. To"
            + " make the new key its release key, run keygen again with <rootKeyFile> set to the repository's root"
            + " key (see docs/maven-plugin.md, key management)"));
        return 0;
      }
      // An expired root is rotated too: that is how a repository whose root expired is repaired.
      TrustRoot current = RepositoryTrust.loadForRotation(repository);
      RoleKeys rootRole = current.role(Role.ROOT);
      if (!rootRole.keyIds().contains(request.rootKey().keyId()) || rootRole.threshold() != 1) {
        throw new ConfigurationException(ErrorCode.SIGNATURE_INVALID, "<rootKeyFile> holds key "
            + request.rootKey().keyId() + ", which cannot sign the next trust root of " + repository.location()
            + " alone (its root keys: " + rootRole.keyIds() + ", threshold " + rootRole.threshold() + "): use the"
            + " repository's root key");
      }
      return publish(repository, current.version() + 1, request, key, request.rootKey(), current);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write the trust root into " + where + ": " + e, e);
    }
  }

  /**
   * Signs and publishes trust root {@code version} with {@code rootKey}. A first root gives {@code
   * rootKey} the root role and {@code key} the release and rollout roles (one key holds all three
   * when they are the same). A next root keeps the previous root and rollout roles and adds {@code
   * key} to the release role, next to the previous release keys, so that releases they signed stay
   * valid; removing a leaked key is a rotation of its own (see docs/maven-plugin.md).
   */
  private long publish(StoreRepository repository, long version, Request request, SigningKey key,
      SigningKey rootKey, TrustRoot previous) throws IOException {
    Map<String, PublicKeyEntry> keys = new java.util.HashMap<>();
    Map<Role, RoleKeys> roles = new EnumMap<>(Role.class);
    keys.put(key.keyId(), PublicKeyEntry.ed25519(key.publicKey().getEncoded()));
    if (previous == null) {
      keys.put(rootKey.keyId(), PublicKeyEntry.ed25519(rootKey.publicKey().getEncoded()));
      roles.put(Role.ROOT, new RoleKeys(List.of(rootKey.keyId()), 1));
      roles.put(Role.RELEASE, new RoleKeys(List.of(key.keyId()), 1));
      roles.put(Role.ROLLOUT, new RoleKeys(List.of(key.keyId()), 1));
    } else {
      List<String> revoked = request.revokeKeys();
      List<String> release = new java.util.ArrayList<>(List.of(key.keyId()));
      previous.role(Role.RELEASE).keyIds().stream().filter(id -> !release.contains(id) && !revoked.contains(id))
          .forEach(release::add);
      List<String> rollout = new java.util.ArrayList<>(previous.role(Role.ROLLOUT).keyIds());
      rollout.removeAll(revoked);
      if (rollout.isEmpty()) {
        // The revoked key was the rollout key too (keygen gives a CI key both roles): the new key takes it over.
        rollout.add(key.keyId());
        events.accept(Event.warning("the new key " + key.keyId().substring(0, 16) + "... holds the rollout role in"
            + " place of the revoked key: start repo-server with it as --rollout-key-file"));
      }
      roles.put(Role.ROOT, previous.role(Role.ROOT));
      roles.put(Role.RELEASE, new RoleKeys(release, 1));
      roles.put(Role.ROLLOUT, new RoleKeys(rollout, previous.role(Role.ROLLOUT).threshold()));
      previous.keys().forEach((id, entry) -> {
        if (!revoked.contains(id)) {
          keys.put(id, entry);
        }
      });
    }
    TrustRoot trustRoot = TrustRoot.of(version, clock.instant().plus(request.rootLifetime()), keys, roles);
    byte[] envelope = Envelopes.sign(DocumentType.ROOT, trustRoot, List.of(rootKey));
    // The same rules as repo-server's PUT /v1/roots: the new root is verified before it is stored.
    TrustRootPublisher publisher = new TrustRootPublisher(repository.store(), clock);
    TrustRootPublisher.Outcome outcome = previous == null ? publisher.install(envelope)
        : publisher.publishNext(previous, version, envelope);
    if (outcome != TrustRootPublisher.Outcome.CREATED) {
      events.accept(Event.warning(repository.location() + " got trust root version " + version + " from someone else"
          + " meanwhile; it was left as it is"));
      return 0;
    }
    String roleText = rootKey == key ? "holds the root, release and rollout roles"
        : previous == null ? "holds the release and rollout roles; root key " + rootKey.keyId().substring(0, 16)
            + "... holds the root role"
        : "is added to the release role (now " + roles.get(Role.RELEASE).keyIds().size() + " key(s))"
            + (request.revokeKeys().isEmpty() ? "" : "; revoked: " + request.revokeKeys());
    events.accept(Event.info("Created trust root version " + version + " in "
        + repository.location() + "/" + RepositoryLayout.trustRoot(version) + ": key " + key.keyId().substring(0, 16)
        + "... " + roleText + ", until " + trustRoot.expires()));
    return version;
  }

  /**
   * Checks that every key of {@code <revokeKeys>} can leave the repository's trust root: it is a
   * release or rollout key of it, and not a root key (revoking the root key is a rotation of the root
   * role, which keygen does not do).
   */
  private void requireRevocable(Request request) {
    try (StoreRepository repository = Repositories.openStore(request.repository(), Path.of("").toAbsolutePath(),
        message -> { })) {
      TrustRoot current = RepositoryTrust.loadForRotation(repository);
      for (String id : request.revokeKeys()) {
        if (current.role(Role.ROOT).keyIds().contains(id)) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<revokeKeys> " + id + " is a root key of "
              + repository.location() + "'s trust root: keygen revokes release and rollout keys; the root role is"
              + " changed by signing the next trust root with the release-schema API (docs/runbook.md)");
        }
        if (!current.role(Role.RELEASE).keyIds().contains(id) && !current.role(Role.ROLLOUT).keyIds().contains(id)) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<revokeKeys> " + id + " is no release or rollout"
              + " key of " + repository.location() + "'s trust root version " + current.version() + " (release keys: "
              + current.role(Role.RELEASE).keyIds() + "): give the key id as keygen printed it");
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read the trust root of " + request.repository() + ": " + e,
          e);
    }
  }

  /** Creates a new file (never replaces one), private files with mode 0600 from the start. */
  private static void writeNew(Path file, String text, boolean secret) throws IOException {
    List<OpenOption> options = List.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    FileAttribute<?>[] attributes = secret && posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
        : new FileAttribute<?>[0];
    try (FileChannel channel = FileChannel.open(file, new java.util.HashSet<>(options), attributes)) {
      ByteBuffer buffer = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
    if (secret && posix) {
      // The umask can only remove bits, but say so explicitly: the file must be 0600 exactly.
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }
  }
}
