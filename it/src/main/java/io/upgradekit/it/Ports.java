package io.upgradekit.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for services that need a fixed port before they start (a node's service keeps
 * its port across versions, so the updater's configuration names it). The port is tried and closed
 * again at once, so another process could take it in between; to make that rare it comes from
 * below Linux's ephemeral range (32768–60999), which the kernel never hands out by itself: an
 * ephemeral port found free can be taken minutes later by any outgoing connection on a busy
 * machine (seen: a node's service failing to bind its port during the fleet's first install).
 */
public final class Ports {
  /** Ports are drawn from {@code [FIRST, LAST]}. */
  static final int FIRST = 20_000;
  static final int LAST = 32_000;

  private Ports() {}

  public static int freeLoopbackPort() {
    IOException last = null;
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(FIRST, LAST + 1);
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(false);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return socket.getLocalPort();
      } catch (IOException e) {
        last = e; // taken: draw another
      }
    }
    throw new HarnessException("cannot find a free loopback port in " + FIRST + ".." + LAST + ": " + last, last);
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
