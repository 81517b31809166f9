package io.upgradekit.schema.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads whole files that nobody vouches for (state a program wrote earlier, caches, configuration,
 * files under {@code /proc}) without trusting their size: at most {@code maxBytes + 1} bytes are
 * ever read, so a file that grew, a file replaced by something huge, or a device that never ends
 * costs a bounded amount of memory and time. Checking {@code Files.size} first is not enough: the
 * file may change between the check and the read, and some files report no size at all.
 */
public final class BoundedFiles {
  private BoundedFiles() {}

  /** A file that holds more bytes than its reader accepts. */
  public static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int limit;

    public TooLargeException(Path file, int limit) {
      super(file + " holds more than " + limit + " bytes, the limit for what it should contain");
      this.file = file;
      this.limit = limit;
    }

    public Path file() {
      return file;
    }

    /** The largest size the reader accepts. */
    public int limit() {
      return limit;
    }
  }

  /**
   * Reads a regular file of at most {@code maxBytes} bytes.
   *
   * @throws java.nio.file.NoSuchFileException when it does not exist
   * @throws TooLargeException when it holds more than {@code maxBytes} (only {@code maxBytes + 1}
   *     were read)
   * @throws IOException when it is not a regular file (a pipe would block the reader) or cannot
   *     be read
   */
  public static byte[] read(Path file, int maxBytes) throws IOException {
    if (maxBytes < 0 || maxBytes == Integer.MAX_VALUE) {
      throw new IllegalArgumentException("maxBytes " + maxBytes);
    }
    try (InputStream in = Files.newInputStream(requireRegular(file))) {
      byte[] bytes = in.readNBytes(maxBytes + 1);
      if (bytes.length > maxBytes) {
        throw new TooLargeException(file, maxBytes);
      }
      return bytes;
    }
  }

  private static Path requireRegular(Path file) throws IOException {
    // One look at the file: asking "regular?" and then "exists?" called a file created between the
    // two questions "not a regular file" (a reader racing another process's exclusive create).
    if (!Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).isRegularFile()) {
      throw new IOException(file + " is not a regular file");
    }
    return file;
  }
}
