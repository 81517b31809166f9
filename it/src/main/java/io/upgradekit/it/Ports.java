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
}
