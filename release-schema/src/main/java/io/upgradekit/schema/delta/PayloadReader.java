package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TreePaths;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Opens a payload: a directory, a {@code .zip}, a {@code .tar}/{@code .tar.gz}/{@code .tgz}
 * (unpacked into their tree), or any other single file such as a {@code .jar} or {@code .war} (a
 * one-file tree named after the file).
 *
 * <p>Archives are untrusted: entries must have safe relative paths, links must be relative and stay
 * inside the tree, only files, directories and links (and tar hard links to earlier files) are
 * accepted, and entry count, file size and total size are capped. Violations are {@link
 * ErrorCode#PAYLOAD_INVALID}; nothing is written outside the private unpack directory.
 */
public final class PayloadReader {
  /** Largest file accepted inside an archive payload. */
  public static final long MAX_FILE_SIZE = 4L << 30;
  /** Largest total of file sizes accepted for an archive payload. */
  public static final long MAX_TOTAL_SIZE = 16L << 30;

  private PayloadReader() {}

  /** How to read; {@code scratch} is where archives are unpacked (null: the system temp dir). */
  public record Options(Path scratch, int threads, String singleFileName) {
    public static Options defaults() {
      return new Options(null, Parallel.defaultThreads(), null);
    }

    public Options withScratch(Path dir) {
      return new Options(dir, threads, singleFileName);
    }

    public Options withThreads(int n) {
      return new Options(scratch, Math.max(1, n), singleFileName);
    }

    /** Names a single-file payload's one entry (default: the file's own name). */
    public Options withSingleFileName(String name) {
      return new Options(scratch, threads, name);
    }
  }

  public static Payload read(Path input) {
    return read(input, Options.defaults());
  }

  /**
   * @throws UpgradeException PAYLOAD_INVALID for unsafe or unsupported content, IO_ERROR when the
   *     input cannot be read
   */
  public static Payload read(Path input, Options options) {
    Objects.requireNonNull(input, "input");
    if (Files.isDirectory(input, LinkOption.NOFOLLOW_LINKS)) {
      return new Payload(TreeScanner.scan(input, options.threads()), input, null, null);
    }
    if (!Files.isRegularFile(input)) {
      throw new UpgradeException(ErrorCode.PAYLOAD_INVALID, input + " is neither a directory nor a regular file");
    }
    String name = input.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".zip") || name.endsWith(".tar") || name.endsWith(".tar.gz") || name.endsWith(".tgz")) {
      Path dir = null;
      try {
        dir = Files.createTempDirectory(options.scratch() == null ? Path.of(System.getProperty("java.io.tmpdir"))
            : options.scratch(), "payload-");
        if (name.endsWith(".zip")) {
          unzip(input, dir);
        } else {
          untar(input, dir, !name.endsWith(".tar"));
        }
        return new Payload(TreeScanner.scan(dir, options.threads()), dir, null, dir);
      } catch (FileSystemException e) {
        FileTrees.deleteQuietly(dir);
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot unpack " + input + ": " + e.getMessage(), e);
      } catch (IOException e) {
        // Reading the archive failed (writes are IO_ERROR already): it is not a readable archive.
        FileTrees.deleteQuietly(dir);
        throw new UpgradeException(ErrorCode.PAYLOAD_INVALID, input + " is not a readable archive: " + e.getMessage(), e);
      } catch (RuntimeException e) {
        FileTrees.deleteQuietly(dir);
        throw e;
      }
    }
    String entryName = options.singleFileName() != null ? options.singleFileName() : input.getFileName().toString();
    if (entryName.contains("/")) {
      throw new UpgradeException(ErrorCode.PAYLOAD_INVALID, "a single-file payload's name has no '/': " + entryName);
    }
    try {
      long[] size = new long[1];
      String sha = TreeScanner.sha256(input, size);
      TreeEntry entry = TreeEntry.file(entryName, size[0], sha, TreeScanner.isExecutable(input));
      return new Payload(new PayloadTree(List.of(entry)), null, input, null);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + input + ": " + e.getMessage(), e);
    }
  }

  /** Unpacks entries one by one; links are created last, so no write ever goes through one. */
  private static final class Unpacker {
    private final Path dir;
    private final Map<String, TreeEntry.EntryType> seen = new HashMap<>();
    private final List<String[]> links = new ArrayList<>();
    private long total;

    Unpacker(Path dir) {
      this.dir = dir;
    }

    /** Checks an archive entry name and returns its tree path; null for the archive root itself. */
    String path(String raw) {
      String p = raw;
      while (p.startsWith("./")) {
        p = p.substring(2);
      }
      while (p.endsWith("/")) {
        p = p.substring(0, p.length() - 1);
      }
      if (p.isEmpty() || p.equals(".")) {
        return null;
      }
      TreePaths.requireSafe(p);
      if (seen.size() >= PayloadTree.MAX_ENTRIES) {
        throw invalid("more than " + PayloadTree.MAX_ENTRIES + " entries");
      }
      for (int slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) {
        TreeEntry.EntryType parent = seen.get(p.substring(0, slash));
        if (parent != null && parent != TreeEntry.EntryType.DIRECTORY) {
          throw invalid("'" + p + "' lies under a " + parent.name().toLowerCase(Locale.ROOT));
        }
        seen.putIfAbsent(p.substring(0, slash), TreeEntry.EntryType.DIRECTORY);
      }
      return p;
    }

    void directory(String path) {
      TreeEntry.EntryType before = seen.putIfAbsent(path, TreeEntry.EntryType.DIRECTORY);
      if (before != null && before != TreeEntry.EntryType.DIRECTORY) {
        throw invalid("'" + path + "' is listed twice");
      }
      write(() -> Files.createDirectories(dir.resolve(path)));
    }

    void file(String path, InputStream in, boolean executable) throws IOException {
      claim(path, TreeEntry.EntryType.FILE);
      Path target = dir.resolve(path);
      write(() -> Files.createDirectories(target.getParent()));
      OutputStream out = write(() -> Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE));
      try (out) {
        byte[] buffer = new byte[64 * 1024];
        long size = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
          size += n;
          total += n;
          if (size > MAX_FILE_SIZE || total > MAX_TOTAL_SIZE) {
            throw invalid("'" + path + "' makes the payload larger than its cap ("
                + MAX_FILE_SIZE + " bytes per file, " + MAX_TOTAL_SIZE + " in all)");
          }
          int length = n;
          write(() -> {
            out.write(buffer, 0, length);
            return null;
          });
        }
      }
      if (executable) {
        write(() -> Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x")));
      }
    }

    void hardLink(String path, String targetRaw) throws IOException {
      String source = path(targetRaw);
      if (source == null || seen.get(source) != TreeEntry.EntryType.FILE) {
        throw invalid("hard link '" + path + "' does not name an earlier file");
      }
      boolean executable = write(() -> TreeScanner.isExecutable(dir.resolve(source)));
      try (InputStream in = write(() -> Files.newInputStream(dir.resolve(source), LinkOption.NOFOLLOW_LINKS))) {
        file(path, in, executable);
      }
    }

    void symlink(String path, String target) {
      claim(path, TreeEntry.EntryType.SYMLINK);
      TreePaths.requireLinkInsideTree(path, target);
      links.add(new String[] {path, target});
    }

    void finish() {
      for (String[] link : links) {
        Path at = dir.resolve(link[0]);
        write(() -> Files.createDirectories(at.getParent()));
        write(() -> Files.createSymbolicLink(at, Path.of(link[1])));
      }
    }

    /** Runs a write into the unpack directory; its failures are IO_ERROR, not the archive's fault. */
    private <T> T write(IoCall<T> call) {
      try {
        return call.call();
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot unpack into " + dir + ": " + e.getMessage(), e);
      }
    }

    private void claim(String path, TreeEntry.EntryType type) {
      if (seen.putIfAbsent(path, type) != null) {
        throw invalid("'" + path + "' is listed twice");
      }
    }
  }

  @FunctionalInterface
  private interface IoCall<T> {
    T call() throws IOException;
  }

  private static void untar(Path archive, Path dir, boolean gzip) throws IOException {
    Unpacker unpacker = new Unpacker(dir);
    try (InputStream file = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
        InputStream raw = gzip ? new GZIPInputStream(file, 1 << 16) : file) {
      TarReader tar = new TarReader(raw, MAX_FILE_SIZE, PayloadTree.MAX_ENTRIES);
      for (TarReader.Entry e; (e = tar.next()) != null; ) {
        String path = unpacker.path(e.name());
        if (path == null) {
          continue;
        }
        switch (e.type()) {
          case DIRECTORY -> unpacker.directory(path);
          case SYMLINK -> unpacker.symlink(path, e.linkTarget());
          case HARD_LINK -> unpacker.hardLink(path, e.linkTarget());
          case FILE -> unpacker.file(path, tar.data(), (e.mode() & 0100) != 0);
        }
      }
    }
    unpacker.finish();
  }

  /**
   * Unpacks a zip with the engine's own strict layout parser (the one zip deltas rely on) and the
   * JDK's inflater: stored and deflated entries only, no encryption, every entry checked against
   * its declared size and CRC-32. The layout is parsed from a memory map, which touches only the
   * headers; entry data is read through the channel, so the archive's pages are not held mapped
   * (and counted in the process's memory) until the map is collected.
   */
  private static void unzip(Path archive, Path dir) throws IOException {
    Unpacker unpacker = new Unpacker(dir);
    try (FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ)) {
      if (ch.size() > Integer.MAX_VALUE) {
        throw invalid(archive + " is larger than 2 GiB; unpack it and use the directory");
      }
      ByteBuffer zip = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      ZipLayout layout = ZipLayout.parse(zip, PayloadTree.MAX_ENTRIES);
      if (layout == null) {
        throw invalid(archive + " is not a zip archive this reader accepts (no end record, split, "
            + "overlapping entries, or more than " + PayloadTree.MAX_ENTRIES + " entries)");
      }
      for (ZipLayout.Entry e : layout.entries) {
        String path = unpacker.path(e.name());
        if (path == null) {
          continue;
        }
        if ((e.flags() & 1) != 0) {
          throw invalid("'" + path + "' is encrypted");
        }
        if (e.name().endsWith("/")) {
          unpacker.directory(path);
          continue;
        }
        CheckedEntry in = new CheckedEntry(ch, e, path);
        if ((e.unixMode() & 0170000) == 0120000) {
          byte[] target = in.readNBytes(TreePaths.MAX_PATH_BYTES + 1);
          if (target.length > TreePaths.MAX_PATH_BYTES) {
            throw invalid("link '" + path + "' has a target longer than " + TreePaths.MAX_PATH_BYTES + " bytes");
          }
          in.requireComplete();
          // Bytes that are not UTF-8 decode to U+FFFD, which the path rules refuse.
          unpacker.symlink(path, new String(target, StandardCharsets.UTF_8));
        } else {
          unpacker.file(path, in, (e.unixMode() & 0100) != 0);
          in.requireComplete();
        }
      }
    }
    unpacker.finish();
  }

  /** An entry's bytes, inflated if need be, checked against its declared size and CRC-32. */
  private static final class CheckedEntry extends InputStream {
    private final FileChannel zip;
    private final ZipLayout.Entry entry;
    private final String path;
    private final Inflater inflater;
    private final ByteBuffer input;
    private final CRC32 crc = new CRC32();
    /** Next raw byte to read from the archive, and the end of the entry's data. */
    private long at;
    private final long end;
    private long count;

    CheckedEntry(FileChannel zip, ZipLayout.Entry entry, String path) {
      this.zip = zip;
      this.entry = entry;
      this.path = path;
      this.at = entry.dataOffset();
      this.end = at + entry.dataLength();
      if (entry.method() == ZipLayout.METHOD_DEFLATED) {
        inflater = new Inflater(true);
        input = ByteBuffer.allocate((int) Math.min(entry.dataLength(), 64 * 1024));
      } else if (entry.method() == ZipLayout.METHOD_STORED) {
        inflater = null;
        input = null;
      } else {
        throw invalid("'" + path + "' uses compression method " + entry.method() + "; only stored and deflated "
            + "entries are supported");
      }
    }

    /** Reads raw bytes at {@code at} into {@code into} (up to the entry's end); false at the end. */
    private boolean readRaw(ByteBuffer into) throws IOException {
      if (at == end) {
        return false;
      }
      into.limit((int) Math.min(into.limit(), into.position() + (end - at)));
      int n = zip.read(into, at);
      if (n <= 0) {
        throw new ZipException("'" + path + "' is truncated");
      }
      at += n;
      return true;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int offset, int length) throws IOException {
      if (length == 0) {
        return 0;
      }
      int n;
      if (inflater == null) {
        ByteBuffer into = ByteBuffer.wrap(b, offset, length);
        if (!readRaw(into)) {
          return -1;
        }
        n = into.position() - offset;
      } else {
        try {
          n = 0;
          for (int stalls = 0; n == 0; stalls++) {
            if (inflater.finished()) {
              return -1;
            }
            if (inflater.needsInput()) {
              input.clear();
              if (readRaw(input)) {
                inflater.setInput(input.flip());
              }
            }
            n = inflater.inflate(b, offset, length);
            if (n == 0 && (inflater.needsInput() && at == end || inflater.needsDictionary() || stalls > 4)) {
              throw new ZipException("'" + path + "' is truncated");
            }
          }
        } catch (java.util.zip.DataFormatException e) {
          throw new ZipException("'" + path + "' is corrupt: " + e.getMessage());
        }
      }
      count += n;
      if (count > entry.size()) {
        throw new ZipException("'" + path + "' is longer than its declared " + entry.size() + " bytes");
      }
      crc.update(b, offset, n);
      return n;
    }

    /** Reads what is left and checks size and CRC-32 against the central directory. */
    void requireComplete() throws IOException {
      byte[] rest = new byte[8192];
      while (read(rest, 0, rest.length) >= 0) {
        // drain
      }
      if (inflater != null) {
        inflater.end();
      }
      if (count != entry.size() || crc.getValue() != entry.crc()) {
        throw new ZipException("'" + path + "' does not match its declared size and CRC-32");
      }
    }
  }

  private static UpgradeException invalid(String why) {
    return new UpgradeException(ErrorCode.PAYLOAD_INVALID, why);
  }
}
