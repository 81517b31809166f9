package io.upgradekit.schema.io;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The only way the product writes state to disk. Every write has one shape: a temp file in the
 * target's own directory, the content written and forced to the device, then published in one
 * atomic step, then the directory forced so that the publication itself survives a power cut.
 *
 * <ul>
 *   <li>{@link #writeAtomically} publishes with {@code rename(2)} ({@link
 *       StandardCopyOption#ATOMIC_MOVE}): a reader sees the old content or the new, never a mix;
 *       an existing target is replaced. For mutable documents (channel pointers, rollout state).
 *   <li>{@link #createExclusively} publishes with {@code link(2)} ({@link Files#createLink}),
 *       which fails if the target exists: of several concurrent creators, in one process or many
 *       sharing a directory, exactly one wins and nothing is ever overwritten. For claims. It
 *       never uses {@code ATOMIC_MOVE}, because a POSIX rename silently replaces the target.
 *   <li>{@link #renameAtomically} publishes what already exists complete under another name (a
 *       staged directory tree, a finished download) or moves a file aside, and {@link
 *       #replaceSymbolicLink} switches a symbolic link; both are one {@code rename(2)} followed by
 *       forcing the directory, never a non-atomic move.
 * </ul>
 *
 * <p>Temp files are dot files named {@code .<target name>.<16 hex digits>.tmp}, so directory
 * listings and static servers that hide dot files skip them, and {@link #deleteStaleTempFiles}
 * can recognise the ones a crash left behind. A crash at any point leaves the target either
 * absent, with its old content, or with its complete new content, plus at most one such temp file.
 *
 * <p>New files get the platform's default permissions (the umask on POSIX), not those of the file
 * they replace, so that a static server running as another user can read them.
 *
 * <p>The guarantees assume a local file system with POSIX rename and link semantics (ext4, xfs,
 * btrfs, APFS). On macOS, {@code force} is an {@code fsync}, which does not flush the drive's
 * cache ({@code F_FULLFSYNC} would). Windows cannot open a directory for {@link #fsyncDirectory},
 * which is skipped there (NTFS journals its metadata).
 *
 * <p>Thread-safe: methods keep no shared state; concurrent calls for different targets are
 * independent, and concurrent {@link #writeAtomically} calls for one target each publish a
 * complete file, the last rename winning.
 *
 * <p>Failures are reported as {@link IOException}, which callers map to {@link
 * ErrorCode#IO_ERROR}; the only {@link UpgradeException} is for a file system that cannot
 * provide the required atomic primitive at all, where no retry can help.
 */
public final class DurableFiles {
  /** Recognises temp files written by this class; only these are ever cleaned up. */
  private static final Pattern TEMP_NAME = Pattern.compile("(?s)\\..+\\.[0-9a-f]{16}\\.tmp");

  /**
   * Longest prefix of the target's name kept in a temp file's name: enough to tell whose temp it
   * is, short enough that the temp name stays under the usual 255-byte name limit.
   */
  private static final int MAX_NAME_IN_TEMP = 64;

  /** Tries at a fresh random temp name; a collision of 64 random bits is already improbable. */
  private static final int TEMP_NAME_ATTEMPTS = 8;

  private static final int BUFFER_SIZE = 64 * 1024;

  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

  private static final HexFormat HEX = HexFormat.of();

  private DurableFiles() {}

  /**
   * Replaces (or creates) {@code target} with {@code content}, atomically and durably. See {@link
   * #writeAtomically(Path, IoConsumer)}.
   *
   * @param target the file to write; its parent directory must exist
   * @param content the complete new content
   * @throws NoSuchFileException if the parent directory does not exist
   * @throws IOException if writing, forcing, renaming or forcing the directory fails (see {@link
   *     #writeAtomically(Path, IoConsumer)} for the state left behind)
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the file system cannot rename
   *     atomically
   */
  public static void writeAtomically(Path target, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    writeAtomically(target, out -> out.write(content));
  }

  /**
   * Replaces (or creates) {@code target} with what {@code writer} writes, atomically and durably:
   * the content goes to a temp file in the same directory, is forced to the device, renamed over
   * the target with {@link StandardCopyOption#ATOMIC_MOVE}, and then the directory is forced.
   * There is no non-atomic fallback: a reader must never see a half-written document.
   *
   * <p>The stream given to {@code writer} is buffered; the writer may close it or not, but must
   * not use it after returning. If the writer throws, or anything up to and including the rename
   * fails, the temp file is deleted and the target is untouched. If only the final directory force
   * fails, the new content is already in place but may not survive a power cut.
   *
   * @param target the file to write; its parent directory must exist
   * @param writer writes the complete new content to the stream it is given
   * @throws NoSuchFileException if the parent directory does not exist
   * @throws IOException whatever {@code writer} throws, or a failure to write, force, rename or
   *     force the directory
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the file system cannot rename
   *     atomically (the target is untouched)
   * @throws RuntimeException whatever unchecked exception {@code writer} throws, unchanged, after
   *     the temp file was deleted
   */
  public static void writeAtomically(Path target, IoConsumer<OutputStream> writer)
      throws IOException {
    Objects.requireNonNull(writer, "writer");
    Path file = target.toAbsolutePath();
    Path dir = parentOf(file);
    Path temp = writeTemp(dir, file.getFileName().toString(), writer);
    try {
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      deleteAfterFailure(temp, e);
      throw new UpgradeException(
          ErrorCode.IO_ERROR,
          "cannot write " + file + ": its file system does not support atomic rename, and a"
              + " non-atomic replace could expose a half-written file; keep this directory on a"
              + " local file system (ext4, xfs, btrfs, APFS, NTFS)",
          e);
    } catch (Throwable t) {
      deleteAfterFailure(temp, t);
      throw t;
    }
    fsyncDirectory(dir);
  }

  /**
   * Creates {@code target} with {@code content} if, and only if, it does not exist yet, durably:
   * the content goes to a temp file in the same directory, is forced to the device, and is then
   * published with {@link Files#createLink} (a hard link, which the operating system refuses when
   * the name exists, atomically, even between processes sharing the directory); the temp name is
   * deleted and the directory forced.
   *
   * <p>Exactly one of any number of concurrent callers for one target returns true, and the
   * target then holds exactly that caller's content, complete: unlike creating the target with
   * {@code CREATE_NEW} and then writing, no reader or crash can observe an empty claim. This method
   * never uses {@link StandardCopyOption#ATOMIC_MOVE}: on POSIX a rename replaces the target, so
   * two "exclusive" creators would both succeed.
   *
   * <p>An existing target of any kind (file, directory, dangling symlink) counts as existing and
   * is left as it is.
   *
   * @param target the file to create; its parent directory must exist
   * @param content the complete content
   * @return true if this call created the target; false if it already existed
   * @throws NoSuchFileException if the parent directory does not exist
   * @throws IOException if writing, forcing, linking, deleting the temp file or forcing the
   *     directory fails. The outcome is then unknown: the target may exist with this content, so a
   *     caller that retries should compare the existing content with its own
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the file system cannot create hard
   *     links through this {@link java.nio.file.FileSystem} provider
   */
  public static boolean createExclusively(Path target, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    Path file = target.toAbsolutePath();
    Path dir = parentOf(file);
    Path temp = writeTemp(dir, file.getFileName().toString(), out -> out.write(content));
    boolean created;
    try {
      Files.createLink(file, temp);
      created = true;
    } catch (FileAlreadyExistsException e) {
      // On NFS a LINK whose reply was lost is retransmitted and then fails with EEXIST although
      // the first attempt made the link; the name pointing at our own inode means we won.
      created = isSameFile(file, temp);
    } catch (UnsupportedOperationException e) {
      deleteAfterFailure(temp, e);
      throw new UpgradeException(
          ErrorCode.IO_ERROR,
          "cannot create " + file + " exclusively: its file system does not support hard links;"
              + " keep this directory on a local POSIX file system (ext4, xfs, btrfs, APFS)",
          e);
    } catch (Throwable t) {
      deleteAfterFailure(temp, t);
      throw t;
    }
    Files.delete(temp);
    // Also when we lost: the caller acts on the winner's file now, so make sure that entry is
    // durable even if the winner crashed before forcing the directory itself.
    fsyncDirectory(dir);
    return created;
  }

  /**
   * Renames {@code source} to {@code target} in one atomic step and forces the directories
   * involved: for publishing something that already exists complete under a temporary name (a
   * verified version tree, a finished download, a symbolic link) or moving a file aside. {@code
   * source} may be a regular file, a directory or a symbolic link; a link is renamed itself, never
   * followed.
   *
   * <p>Like {@code rename(2)}, this replaces an existing {@code target} that is a file, a symbolic
   * link or an empty directory, so it must not be used to create something exclusively (use
   * {@link #createExclusively}). A reader sees the old target or the new one, never none. There is
   * no non-atomic fallback: on a file system that cannot rename atomically, or when the two names
   * are on different file systems, nothing is renamed and the call fails.
   *
   * <p>After the rename, the target's directory is forced, then the source's if it is another one,
   * so that the rename survives a power cut.
   *
   * @param source the existing file, directory or link
   * @param target its new name
   * @throws NoSuchFileException if {@code source} or {@code target}'s directory does not exist
   * @throws java.nio.file.DirectoryNotEmptyException if {@code target} is a non-empty directory
   * @throws IOException if renaming or forcing a directory fails (if only a force failed, the
   *     rename has happened but may not survive a power cut)
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the rename cannot be atomic (nothing
   *     was renamed)
   */
  public static void renameAtomically(Path source, Path target) throws IOException {
    Path from = source.toAbsolutePath();
    Path to = target.toAbsolutePath();
    Path fromDir = parentOf(from);
    Path toDir = parentOf(to);
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new UpgradeException(
          ErrorCode.IO_ERROR,
          "cannot rename " + from + " to " + to + ": the file system cannot do it atomically (or"
              + " the two are on different file systems), and a non-atomic move could leave a"
              + " half-moved tree or no file at all; keep both on one local file system (ext4, xfs,"
              + " btrfs, APFS, NTFS)",
          e);
    }
    fsyncDirectory(toDir);
    if (!fromDir.equals(toDir)) {
      fsyncDirectory(fromDir);
    }
  }

  /**
   * Points the symbolic link {@code link} at {@code target}, atomically and durably: a new link
   * {@code .<link name>.tmp} is created beside it (a stale one left by a crash is replaced) and
   * renamed over {@code link} ({@link #renameAtomically}), then the directory is forced. A reader,
   * or a crash, sees the old link or the new one, never none; there is no non-atomic fallback.
   *
   * <p>The temporary name is fixed, not random, so that a script can make the same switch with
   * {@code ln -s} and {@code mv -T} (the node updater's launcher does); callers therefore serialise
   * the switches of one link (the node updater holds its target's lock).
   *
   * @param link the link to create or replace; its parent directory must exist, and it must not
   *     be a non-empty directory
   * @param target what the link points at, as stored in the link (keep it relative so that the
   *     tree can move)
   * @throws IOException if the link cannot be created, renamed or its directory forced; the
   *     temporary link is then deleted and {@code link} is as it was (unless only the force failed)
   * @throws UpgradeException {@link ErrorCode#IO_ERROR} if the file system cannot rename
   *     atomically ({@code link} is as it was)
   */
  public static void replaceSymbolicLink(Path link, Path target) throws IOException {
    Objects.requireNonNull(target, "target");
    Path file = link.toAbsolutePath();
    Path temp = parentOf(file).resolve("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(temp);
    Files.createSymbolicLink(temp, target);
    try {
      renameAtomically(temp, file);
    } catch (Throwable t) {
      deleteAfterFailure(temp, t);
      throw t;
    }
  }

  /**
   * Forces a directory's entries (names created, renamed or removed in it) to the device, which
   * {@link FileChannel#force} on the files themselves does not do.
   *
   * <p>Opens the directory as a {@link FileChannel} for reading, which works on Linux and macOS.
   * On Windows a directory cannot be opened that way; there this method does nothing for an
   * existing directory (NTFS journals metadata changes, and {@code MoveFileEx} offers no
   * directory flush to Java).
   *
   * @param dir the directory
   * @throws NoSuchFileException if {@code dir} does not exist
   * @throws IOException if it cannot be opened or forced (some network and FUSE file systems
   *     refuse {@code fsync} on directories; such a file system cannot hold the product's state)
   */
  public static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      if (WINDOWS && Files.isDirectory(dir)) {
        return;
      }
      throw e;
    }
  }

  /**
   * Creates a directory and any missing parents like {@link Files#createDirectories}, and forces
   * the parent of each directory it creates, so that a file later written durably inside is not
   * lost with a directory entry that was never forced. A directory that another process creates
   * at the same time is accepted.
   *
   * @param dir the directory to create
   * @return {@code dir}
   * @throws FileAlreadyExistsException if {@code dir} exists but is not a directory
   * @throws IOException if a parent is not a directory, or creating or forcing fails
   */
  public static Path createDirectories(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath();
    if (Files.isDirectory(absolute)) {
      return dir;
    }
    Deque<Path> missing = new ArrayDeque<>();
    for (Path p = absolute; p != null && !Files.exists(p); p = p.getParent()) {
      missing.push(p);
    }
    if (missing.isEmpty()) {
      // Another thread or process created it between the two checks above: fine, if a directory.
      if (Files.isDirectory(absolute)) {
        fsyncDirectory(absolute.getParent()); // its creator may not have forced the entry yet
        return dir;
      }
      throw new FileAlreadyExistsException(absolute.toString(), null, "exists and is not a directory");
    }
    for (Path created : missing) { // outermost first
      try {
        Files.createDirectory(created);
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(created)) {
          throw e;
        }
      }
      fsyncDirectory(created.getParent());
    }
    return dir;
  }

  /**
   * Deletes the temp files of this class in {@code dir} (not in subdirectories) that were last
   * modified more than {@code minAge} ago: what a crash between writing and publishing leaves
   * behind. Other files, including other dot files, symlinks and directories, are never touched.
   *
   * <p>Choose {@code minAge} far longer than any write can take: a temp file still being written
   * by another process and deleted here makes that write fail with an {@link IOException} (it
   * never corrupts the target).
   *
   * @param dir the directory to clean
   * @param minAge how long a temp file must have been left untouched to count as stale
   * @return how many files were deleted
   * @throws IllegalArgumentException if {@code minAge} is negative
   * @throws NoSuchFileException if {@code dir} does not exist
   * @throws IOException if {@code dir} cannot be listed or a stale file cannot be deleted
   */
  public static int deleteStaleTempFiles(Path dir, Duration minAge) throws IOException {
    Objects.requireNonNull(dir, "dir");
    if (minAge.isNegative()) {
      throw new IllegalArgumentException("minAge is negative: " + minAge);
    }
    FileTime cutoff;
    try {
      cutoff = FileTime.from(Instant.now().minus(minAge));
    } catch (DateTimeException | ArithmeticException e) {
      return 0; // older than time itself: nothing qualifies
    }
    int deleted = 0;
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, DurableFiles::isTempFile)) {
      for (Path temp : temps) {
        BasicFileAttributes attributes;
        try {
          attributes =
              Files.readAttributes(temp, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
          continue; // published or cleaned by someone else meanwhile
        }
        if (attributes.isRegularFile()
            && attributes.lastModifiedTime().compareTo(cutoff) < 0
            && Files.deleteIfExists(temp)) {
          deleted++;
        }
      }
    } catch (DirectoryIteratorException e) {
      throw e.getCause();
    }
    return deleted;
  }

  /**
   * Whether {@code file}'s name has the shape of this class's temp files ({@code
   * .<name>.<16 hex digits>.tmp}). Such files are never complete documents and must not be served
   * or read.
   *
   * @param file a path; only its last element is looked at
   * @return true for a temp file name
   */
  public static boolean isTempFile(Path file) {
    Path name = file.getFileName();
    return name != null && TEMP_NAME.matcher(name.toString()).matches();
  }

  /**
   * Creates a fresh temp file beside the target, lets {@code writer} fill it and forces it.
   * Returns the closed, durable temp file; on any failure deletes it and rethrows.
   */
  private static Path writeTemp(Path dir, String targetName, IoConsumer<OutputStream> writer)
      throws IOException {
    for (int attempt = 1; ; attempt++) {
      Path temp = dir.resolve(tempName(targetName));
      FileChannel channel;
      try {
        // CREATE_NEW so that two writers can never share a temp file; default permissions (unlike
        // Files.createTempFile's 0600) so that a static server can read the published file.
        channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      } catch (FileAlreadyExistsException e) {
        if (attempt == TEMP_NAME_ATTEMPTS) {
          throw e;
        }
        continue;
      }
      try (channel) {
        ChannelOutput out = new ChannelOutput(channel);
        writer.accept(out);
        out.close();
        channel.force(true);
      } catch (Throwable t) {
        deleteAfterFailure(temp, t);
        throw t;
      }
      return temp;
    }
  }

  private static String tempName(String targetName) {
    String name = targetName;
    if (name.length() > MAX_NAME_IN_TEMP) {
      int end = MAX_NAME_IN_TEMP;
      if (Character.isHighSurrogate(name.charAt(end - 1))) {
        end--; // never split a character in two
      }
      name = name.substring(0, end);
    }
    return "." + name + "." + HEX.toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp";
  }

  private static Path parentOf(Path file) {
    Path dir = file.getParent();
    if (dir == null || file.getFileName() == null) {
      throw new IllegalArgumentException(file + " has no parent directory to write in");
    }
    return dir;
  }

  private static boolean isSameFile(Path a, Path b) {
    try {
      return Files.isSameFile(a, b);
    } catch (IOException e) {
      return false; // the target vanished meanwhile: it was certainly not our link
    }
  }

  /** Deletes a temp file after a failure, keeping the failure as the exception that is thrown. */
  private static void deleteAfterFailure(Path temp, Throwable failure) {
    try {
      Files.deleteIfExists(temp);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /**
   * A buffered stream onto the temp file's channel. Closing it flushes but leaves the channel
   * open, because the channel must still be forced; writing after close fails.
   */
  private static final class ChannelOutput extends OutputStream {
    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_SIZE);
    private boolean closed;

    ChannelOutput(FileChannel channel) {
      this.channel = channel;
    }

    @Override
    public void write(int b) throws IOException {
      ensureOpen();
      if (!buffer.hasRemaining()) {
        drain();
      }
      buffer.put((byte) b);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      Objects.checkFromIndexSize(offset, length, bytes.length);
      ensureOpen();
      if (length > buffer.remaining()) {
        drain();
      }
      if (length >= buffer.capacity()) {
        writeFully(ByteBuffer.wrap(bytes, offset, length));
      } else {
        buffer.put(bytes, offset, length);
      }
    }

    @Override
    public void flush() throws IOException {
      if (!closed) {
        drain();
      }
    }

    @Override
    public void close() throws IOException {
      if (!closed) {
        drain();
        closed = true;
      }
    }

    private void ensureOpen() throws IOException {
      if (closed) {
        throw new IOException("stream closed: write the whole content before returning");
      }
    }

    private void drain() throws IOException {
      buffer.flip();
      writeFully(buffer);
      buffer.clear();
    }

    private void writeFully(ByteBuffer source) throws IOException {
      while (source.hasRemaining()) {
        channel.write(source);
      }
    }
  }
}
