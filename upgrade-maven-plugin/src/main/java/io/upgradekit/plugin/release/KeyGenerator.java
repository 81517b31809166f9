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
 * Creates a release key, and optionally the first trust root of a new directory repository, so that
 * a new user starts from nothing with two commands ({@code keygen}, then {@code release}).
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
   * @param repository a directory repository to give a first trust root, or null
   * @param rootLifetime how long the trust root is valid
   */
  public record Request(Path keyFile, Path repository, Duration rootLifetime) {
    public Request {
      if (keyFile == null) {
        throw new ConfigurationException(ErrorCode.KEY_INVALID, "<keyFile> is not set: run 'mvn upgrade:keygen"
            + " -Dupgrade.keyFile=PATH' with the path of the key file to create (keep it outside the project)");
      }
      if (rootLifetime == null || rootLifetime.isNegative() || rootLifetime.isZero()) {
        throw new ConfigurationException(ErrorCode.NAME_INVALID, "<rootExpiryDays> must be at least 1 day");
      }
    }
  }

  /**
   * What was created.
   *
   * @param keyId the new key's id
   * @param publicKeyFile where the public key is
   * @param trustRootCreated whether a trust root naming the key was written into the repository
   */
  public record Result(String keyId, Path publicKeyFile, boolean trustRootCreated) {}

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
    boolean created = request.repository() != null && createTrustRoot(request, key);
    return new Result(key.keyId(), publicFile, created);
  }

  private boolean createTrustRoot(Request request, SigningKey key) {
    Path root = request.repository().toAbsolutePath();
    try (DirectoryRepository repository = new DirectoryRepository(root)) {
      Files.createDirectories(root);
      Map<Role, RoleKeys> roles = new EnumMap<>(Role.class);
      for (Role role : Role.values()) {
        roles.put(role, new RoleKeys(List.of(key.keyId()), 1));
      }
      TrustRoot trustRoot = TrustRoot.of(1, clock.instant().plus(request.rootLifetime()),
          Map.of(key.keyId(), PublicKeyEntry.ed25519(key.publicKey().getEncoded())), roles);
      byte[] envelope = Envelopes.sign(DocumentType.ROOT, trustRoot, List.of(key));
      if (!repository.createFirstTrustRoot(envelope)) {
        events.accept(Event.warning(root + " has a trust root already; it was left as it is. Release with a key it"
            + " names, or rotate it to name " + key.keyId() + " (see docs/maven-plugin.md, key management)"));
        return false;
      }
      events.accept(Event.info("Created trust root version 1 in " + root.resolve(RepositoryLayout.trustRoot())
          + ": key " + key.keyId().substring(0, 16) + "... holds the root, release and rollout roles, until "
          + trustRoot.expires()));
      return true;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write the trust root into " + root + ": " + e, e);
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
