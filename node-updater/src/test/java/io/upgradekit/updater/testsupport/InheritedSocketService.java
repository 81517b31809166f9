package io.upgradekit.updater.testsupport;

import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * A service that only serves the listening socket it inherits on standard input: it answers every
 * connection with its version ({@code UPGRADEKIT_VERSION}) and a newline, then closes it. Without
 * such a socket it exits with status 3 at once.
 */
public final class InheritedSocketService {
  public static void main(String[] args) throws Exception {
    Channel inherited = System.inheritedChannel();
    if (!(inherited instanceof ServerSocketChannel server)) {
      System.err.println("standard input is not a listening socket: " + inherited);
      System.exit(3);
      return;
    }
    byte[] version = (System.getenv("UPGRADEKIT_VERSION") + "\n").getBytes(StandardCharsets.US_ASCII);
    while (true) {
      try (SocketChannel connection = server.accept()) {
        connection.write(ByteBuffer.wrap(version));
      }
    }
  }
}
