package io.upgradekit.schema.store;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The repository as storage: the few primitives that every writer of the repository (the plugin,
 * repo-server) builds its rules on, so that the rules are written once and the storage can be a
 * directory ({@link DirectoryStore}) or an object store. Paths are {@link
 * io.upgradekit.schema.layout.RepositoryLayout}'s: relative, '/'-separated, never hidden (a
 * segment starting with '.' belongs to the store's own bookkeeping and is refused with {@link
 * ErrorCode#NAME_INVALID}).
 *
 * <p>Each primitive maps one to one onto an S3-compatible object store:
 *
 * <ul>
 *   <li>{@link #putBlob} (packages, deltas): {@code PUT}, multipart when large, the hash checked
 *       while streaming;
 *   <li>{@link #create} (manifests, trust root versions, claims, feedback, rollout decisions):
 *       {@code PUT} with {@code If-None-Match: *};
 *   <li>{@link #compareAndSwap} (channel pointers, {@code root.json}, rollout state): {@code PUT}
 *       with {@code If-Match: <tag>}, or {@code If-None-Match: *} when there is none yet;
 *   <li>{@link #read}, {@link #stat}, {@link #open}: {@code GET} (bounded), {@code HEAD}; the tag
 *       is the ETag;
 *   <li>{@link #list} (feedback, verification): {@code ListObjectsV2}, page by page;
 *   <li>{@link #delete} (a claim slot given back): {@code DELETE}.
 * </ul>
 *
 * <p>Conditional writes never throw for losing: they answer a {@link Write} whose {@link
 * Status} says {@link Status#WRITTEN}, {@link Status#CONFLICT} (nothing was written: another
 * writer was first; read again) or {@link Status#UNKNOWN} (the store could not say, as S3
 * servers answer some race losers with 500: read again and compare). Exceptions are for failures
 * ({@link IOException}) and refusals ({@link UpgradeException} with a code); after an exception
 * from a write, too, the outcome is unknown.
 *
 * <p>Tags are opaque version strings: equal tags mean equal content of one path. Compare them
 * only with tags this store gave out.
 *
 * <p>Implementations are thread-safe, and safe with any number of processes sharing the storage.
 * The store trusts nothing it reads: reads are bounded by the caller's limit, and callers verify
 * what they read.
 */
public interface RepositoryStore extends Closeable {
  /** The size to pass to {@link #putBlob} when the caller does not know it in advance. */
  long UNKNOWN_SIZE = -1;

  /** Where the store is (a directory, a URL), for messages; never credentials. */
  String location();

  /**
   * Reads a document with its version tag, never more than {@code maxBytes + 1} bytes of it.
   *
   * @param path a repository path
   * @param maxBytes the largest size the caller accepts
   * @return the document, or empty if there is none
   * @throws UpgradeException {@link ErrorCode#METADATA_TOO_LARGE} if it holds more than {@code
   *     maxBytes}; {@link ErrorCode#NAME_INVALID} for an invalid or hidden path
   * @throws IOException if it cannot be read
   */
  Optional<Versioned> read(String path, int maxBytes) throws IOException;

  /**
   * Whether a file exists, and its size, without reading it.
   *
   * @return the entry, or empty if there is none
   */
  Optional<Entry> stat(String path) throws IOException;

  /**
   * Opens a file (a blob) for streaming. The caller bounds and verifies what it reads, and closes
   * the stream.
   *
   * @return the stream, or empty if there is no such file
   */
  Optional<InputStream> open(String path) throws IOException;

  /**
   * Opens a file from byte {@code offset} on (a resumed download, a range request). By default the
   * first {@code offset} bytes are skipped; an object store asks for the range instead.
   *
   * @return the stream, or empty if there is no such file
   */
  default Optional<InputStream> open(String path, long offset) throws IOException {
    if (offset < 0) {
      throw new IllegalArgumentException("offset " + offset);
    }
    Optional<InputStream> opened = open(path);
    if (opened.isPresent() && offset > 0) {
      try {
        opened.get().skipNBytes(offset);
      } catch (IOException e) {
        opened.get().close();
        throw e;
      }
    }
    return opened;
  }

  /**
   * Stores a blob under {@link io.upgradekit.schema.layout.RepositoryLayout#blob}{@code (sha256)},
   * hashing it while it streams in: content whose SHA-256 (or, when {@code size} is given, size)
   * differs is refused, and nothing is stored. At most {@code size + 1} bytes are read when the
   * size is given; with {@link #UNKNOWN_SIZE} the caller's stream must bound itself.
   *
   * <p>A blob that is there already (with the given size) is not written again, but the content
   * is still read and checked. A blob of the wrong size, which only damage can leave, is
   * replaced. Blobs are named by their content, so a plain, unconditional write is safe.
   *
   * @param sha256 the content's SHA-256, 64 lowercase hex digits
   * @param size the content's size, or {@link #UNKNOWN_SIZE}
   * @param content the content; read, not closed
   * @return true if this call stored it, false if it was there
   * @throws UpgradeException {@link ErrorCode#HASH_MISMATCH} for content that does not match (nothing
   *     stored); {@link ErrorCode#NAME_INVALID} for a malformed hash
   */
  boolean putBlob(String sha256, long size, InputStream content) throws IOException;

  /**
   * Creates a document if there is none at {@code path}: of any number of concurrent creators,
   * in any number of processes, exactly one gets {@link Status#WRITTEN}; what is there is never
   * replaced. Readers see the complete document or none.
   *
   * @return {@link Status#WRITTEN} with the new tag, {@link Status#CONFLICT} if a document was
   *     there, or {@link Status#UNKNOWN}
   */
  Write create(String path, byte[] content) throws IOException;

  /**
   * Replaces the document at {@code path} if its tag is still {@code expectedTag}, or creates it
   * if {@code expectedTag} is null and there is none. Of any number of concurrent writers that
   * expect one tag, exactly one gets {@link Status#WRITTEN}.
   *
   * @param expectedTag the tag the caller read, or null if it found no document
   * @param sequence the new document's sequence number, 0 or more, strictly increasing per path
   *     (a channel pointer's sequence, a trust root's version): the directory store claims it
   *     (see {@link io.upgradekit.schema.io.PointerSwap}); an object store may ignore it
   * @return {@link Status#WRITTEN} with the new tag, {@link Status#CONFLICT} if the document is not
   *     (or no longer) the expected one, or {@link Status#UNKNOWN}
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} when other writers held the document for
   *     longer than the store waits (the message names them)
   */
  Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException;

  /**
   * The files whose paths start with {@code prefix}, as a lazy stream that holds only a bounded
   * part of the listing in memory at any time (the directory store walks, an object store pages).
   * The order is unspecified; hidden files (the store's own) are never listed. Close the stream;
   * a failure while it is consumed is an {@link java.io.UncheckedIOException}.
   *
   * @param prefix a path prefix, e.g. {@code feedback/} or {@code claims/app/1.0/wave-1/slot-}; ""
   *     for everything
   */
  Stream<Entry> list(String prefix) throws IOException;

  /**
   * Deletes a file. The protocol deletes only what the caller itself created and must give back
   * (a claim slot won twice by one node); everything else is immutable or replaced.
   *
   * @return true if it existed
   */
  boolean delete(String path) throws IOException;

  /**
   * Creates a document, or reads the one that is there: the shape of every create-once write
   * (manifests, claims, feedback). An {@link Status#UNKNOWN} outcome is settled by reading: a
   * stored document equal to {@code content} counts as created by this call.
   *
   * @param maxBytes the largest existing document the caller accepts
   * @return whether this call created it, and the document now stored
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the document keeps vanishing and the
   *     creation keeps ending unknown
   */
  default Created createOrRead(String path, byte[] content, int maxBytes) throws IOException {
    for (int attempt = 0; attempt < 3; attempt++) {
      Write write = create(path, content);
      if (write.status() == Status.WRITTEN) {
        return new Created(true, content);
      }
      Optional<Versioned> existing = read(path, maxBytes);
      if (existing.isPresent()) {
        boolean ours = write.status() == Status.UNKNOWN && Arrays.equals(existing.get().bytes(), content);
        return new Created(ours, existing.get().bytes());
      }
      // Not there after all: the unknown write did not happen, or the winner was given back.
    }
    throw new UpgradeException(ErrorCode.IO_ERROR, "cannot create " + path + " in " + location()
        + ": the store reports it taken, but it is not there when read; check the store, then retry");
  }

  /** How a conditional write ended. */
  enum Status {
    /** This call's content is stored. */
    WRITTEN,
    /** Nothing was written: the document exists (create) or is not the expected one (swap). */
    CONFLICT,
    /** The store could not say whether the write happened: read the document again. */
    UNKNOWN
  }

  /**
   * The answer to a conditional write.
   *
   * @param status how it ended
   * @param tag the new document's tag when {@link Status#WRITTEN}, else null
   */
  record Write(Status status, String tag) {
    public Write {
      Objects.requireNonNull(status, "status");
      if ((status == Status.WRITTEN) != (tag != null)) {
        throw new IllegalArgumentException("a tag goes with WRITTEN, and only with it");
      }
    }

    public static Write written(String tag) {
      return new Write(Status.WRITTEN, Objects.requireNonNull(tag, "tag"));
    }

    public static Write conflict() {
      return new Write(Status.CONFLICT, null);
    }

    public static Write unknown() {
      return new Write(Status.UNKNOWN, null);
    }

    public boolean written() {
      return status == Status.WRITTEN;
    }
  }

  /**
   * A document's bytes and the tag of this version of it.
   *
   * @param bytes the content
   * @param tag opaque: equal for equal content of one path
   */
  record Versioned(byte[] bytes, String tag) {
    public Versioned {
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(tag, "tag");
    }
  }

  /**
   * A listed or looked-up file.
   *
   * @param path its repository path
   * @param size its size in bytes
   */
  record Entry(String path, long size) {
    public Entry {
      Objects.requireNonNull(path, "path");
    }
  }

  /**
   * What {@link #createOrRead} found.
   *
   * @param created true if this call created the document
   * @param stored the document now stored (this call's, or the one that was there)
   */
  record Created(boolean created, byte[] stored) {
    public Created {
      Objects.requireNonNull(stored, "stored");
    }
  }
}
