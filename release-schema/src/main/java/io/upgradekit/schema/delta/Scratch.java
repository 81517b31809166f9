package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Where an apply keeps the intermediate byte strings it must hold whole (a group's decoded
 * streams and their references, a rebuilt nested zip, a re-deflated entry): the first {@link
 * #IN_MEMORY} bytes of each on the heap, the rest in a file of a private directory, read back
 * through a memory map. So the heap an apply needs does not grow with the caps of those strings
 * (up to 32 MiB each, several at once): a node with a small heap applies any delta the format
 * allows. The builder, which holds everything in memory anyway, uses {@link #memory()}.
 *
 * <p>Thread-safe. {@link #close()} closes every file and removes the directory.
 */
final class Scratch implements AutoCloseable {
  /** Bytes of each buffer kept on the heap before it moves to a file. */
  static final int IN_MEMORY = 1 << 20;

  private static final Scratch MEMORY = new Scratch(null);

  private final Path dir;
  private final List<FileChannel> open = new ArrayList<>();
  private int files;

  private Scratch(Path dir) {
    this.dir = dir;
  }

  /** Everything on the heap. */
  static Scratch memory() {
    return MEMORY;
  }

  /** Buffers that spill into a new private directory under {@code parent}. */
  static Scratch in(Path parent, String prefix) throws IOException {
    return new Scratch(Files.createTempDirectory(parent, prefix));
  }

  /** A buffer of at most {@code limit} bytes; read it with {@link BoundedOutput#toBuffer()}. */
  BoundedOutput buffer(long limit) {
    return dir == null ? BoundedOutput.inMemory(limit) : BoundedOutput.spilling(limit, this);
  }

  /** A new file for a buffer that outgrew the heap part. */
  FileChannel newFile() {
    synchronized (open) {
      try {
        FileChannel ch = FileChannel.open(dir.resolve("spill-" + files++), StandardOpenOption.CREATE_NEW,
            StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
        open.add(ch);
        return ch;
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write a scratch file in " + dir + ": "
            + e.getMessage(), e);
      }
    }
  }

  /** Closes (and so deletes) a buffer's file once it is mapped: the mapping stays valid. */
  void release(FileChannel ch) {
    synchronized (open) {
      open.remove(ch);
    }
    try {
      ch.close();
    } catch (IOException e) {
      // the directory goes at close()
    }
  }

  @Override
  public void close() {
    if (dir == null) {
      return;
    }
    synchronized (open) {
      for (FileChannel ch : open) {
        try {
          ch.close();
        } catch (IOException e) {
          // deleted below with the directory
        }
      }
      open.clear();
    }
    FileTrees.deleteQuietly(dir);
  }
}
