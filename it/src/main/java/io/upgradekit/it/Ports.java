package io.upgradekit.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Free loopback ports for services that need a fixed port before they start (a node's service keeps
 * its port across versions, so the updater's configuration names it). The kernel picks an
 * ephemeral port; it is closed again at once, so another process could take it in between: rare on
 * loopback, and the service's start then fails loudly.
 */
public final class Ports {
  private Ports() {}

  public static int freeLoopbackPort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new HarnessException("cannot find a free loopback port: " + e, e);
    }
  }

  /**
   * A free loopback port below Linux's ephemeral range (32768 and up), for a service started later
   * in a test whose processes open many outgoing connections (an object store's client does, one
   * per request at times): each takes an ephemeral port, and one of them can take a port {@link
   * #freeLoopbackPort} gave out before the service binds it.
   */
  public static int freeLoopbackPortBelowEphemeralRange() {
    int start = 20_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(12_000);
    for (int i = 0; i < 12_000; i++) {
      int port = 20_000 + (start - 20_000 + i) % 12_000;
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(false);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return port;
      } catch (IOException e) {
        // taken: the next one
      }
    }
    throw new HarnessException("no free loopback port between 20000 and 31999");
  }
}
