package io.upgradekit.plugin.release;

import io.upgradekit.schema.model.BlobRef;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A release repository as the publisher sees it: read documents and blobs, add blobs and manifests
 * (never replace them), and replace a channel pointer by compare-and-swap. Paths are {@link
 * io.upgradekit.schema.layout.RepositoryLayout}'s.
 *
 * <p>Implementations: {@link DirectoryRepository} (a local or mounted directory, through
 * release-schema's {@link io.upgradekit.schema.store.DirectoryStore}, which repo-server writes
 * through too) and {@link HttpRepository} (repo-server's publish API). Nothing here trusts what it
 * reads; callers verify. Trust roots are published with release-schema's {@link
 * io.upgradekit.schema.store.TrustRootPublisher} ({@link KeyGenerator}).
 */
public interface Repository extends Closeable {
  /** Where the repository is, as the user gave it (for messages and the release summary). */
  String location();

  /**
   * Reads a document.
   *
   * @param path a repository-relative path
   * @param maxBytes refuse (METADATA_TOO_LARGE) anything larger
   * @return the bytes and their version tag, or null if there is no such file
   */
  Stored read(String path, int maxBytes) throws IOException;

  /**
   * Copies a blob into {@code target}, checking its size and SHA-256 on the way.
   *
   * @return false if the repository has no such blob
   * @throws io.upgradekit.schema.UpgradeException HASH_MISMATCH if the stored blob differs
   */
  boolean fetchBlob(BlobRef blob, Path target) throws IOException;

  /**
   * Stores a blob under its hash unless the repository has it already.
   *
   * @return true if it was written, false if it was there
   */
  boolean putBlob(BlobRef blob, Path file) throws IOException;

  /**
   * Creates a release manifest if there is none for the version yet; never replaces one.
   *
   * @return null if this call created it, else the bytes already stored (which may differ)
   */
  byte[] createManifest(String app, String version, byte[] envelope) throws IOException;

  /**
   * Creates a release set ({@code sets/<name>/<version>.json}) if there is none for the version yet;
   * never replaces one.
   *
   * @return null if this call created it, else the bytes already stored (which may differ)
   */
  byte[] createReleaseSet(String name, String version, byte[] envelope) throws IOException;

  /**
   * Replaces a channel pointer if it is still {@code expected}: compare-and-swap on its sequence
   * (directory) or ETag (HTTP).
   *
   * @param expected the pointer as read, or null if the channel had none
   * @param expectedSequence the sequence of {@code expected} (0 if none)
   * @param newSequence the sequence of {@code envelope}, {@code expectedSequence + 1}
   * @return true if the pointer now holds {@code envelope}; false if another publisher changed it
   *     first (read it again and retry on the new head)
   */
  boolean replacePointer(String app, String channel, Stored expected, long expectedSequence, byte[] envelope,
      long newSequence) throws IOException;

  /**
   * Every file in the repository, as repository-relative paths, for {@code verify}; hidden and
   * temporary files are left out.
   *
   * @throws UnsupportedOperationException if this kind of repository cannot be listed
   */
  List<String> listFiles() throws IOException;

  /**
   * A document's bytes and the tag that identifies this version of it (an ETag over HTTP, the
   * content hash in a directory).
   */
  record Stored(byte[] bytes, String tag) {
    public Stored {
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(tag, "tag");
    }
  }
}
