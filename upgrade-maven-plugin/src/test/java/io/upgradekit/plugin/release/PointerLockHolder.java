package io.upgradekit.plugin.release;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Another process doing what repo-server's publish API does for a pointer swap: take the OS lock on
 * {@code .<channel>.json.lock}, say so, wait a little, replace the pointer, release.
 */
public final class PointerLockHolder {
  private PointerLockHolder() {}

  public static void main(String[] args) throws Exception {
    Path pointer = Path.of(args[0]);
    try (FileChannel channel = FileChannel.open(pointer.resolveSibling("." + pointer.getFileName() + ".lock"),
            StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      System.out.println("locked");
      System.out.flush();
      Thread.sleep(Long.parseLong(args[2]));
      Files.writeString(pointer, args[1]);
    }
  }
}
