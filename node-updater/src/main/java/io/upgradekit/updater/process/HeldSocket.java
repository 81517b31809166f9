package io.upgradekit.updater.process;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.util.Arrays;

/**
 * The service's listening socket that this updater holds ({@code service.socket}): its own standard
 * input, which every process it starts inherits.
 *
 * <p>Java cannot hand a child process any descriptor but 0, 1 and 2 (the JDK closes the rest in the
 * child), and cannot put a socket there by itself; so the socket comes from the process that started
 * the updater: systemd's socket unit (bin/updater moves its {@code LISTEN_FDS} descriptor 3 to
 * standard input) or bin/updater's {@code UPDATER_LISTEN}. What is checked here, once per process,
 * is that standard input really is a listening socket bound where the configuration says, so that a
 * service is never started on a socket nobody meant, and a missing one is a configuration error
 * before anything stops.
 */
public final class HeldSocket {
  private HeldSocket() {}

  /** This process's standard input as a channel ({@code System.inheritedChannel()}), or null. */
  public static Channel standardInput() {
    try {
      return System.inheritedChannel();
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Checks that {@code inherited} ({@code System.inheritedChannel()}) is a listening socket bound to
   * {@code socket}'s address.
   *
   * @return a description for the log, e.g. {@code 127.0.0.1:8080 (held by the updater's launcher, passed as stdin)}
   * @throws UpgradeException CONFIG_INVALID naming what is wrong and how to start the updater instead
   */
  public static String check(Channel inherited, UpdaterConfig.Socket socket, String configFile) {
    String how = "start the updater with the socket on its standard input: through systemd's socket unit "
        + "(systemd/upgradekit-updater.socket in the distribution) or with UPDATER_LISTEN=" + socket.listen()
        + " in bin/updater's environment";
    if (!(inherited instanceof ServerSocketChannel server)) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, configFile + ": service.socket is set ("
          + socket.listen() + "), but this updater's standard input is "
          + (inherited == null ? "not a socket" : "a connected socket, not a listening one") + ": " + how);
    }
    SocketAddress local;
    try {
      local = server.getLocalAddress();
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "cannot read the address of the socket on standard "
          + "input: " + e, e);
    }
    if (!(local instanceof InetSocketAddress address) || !matches(address, socket)) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, configFile + ": service.socket.listen is "
          + socket.listen() + ", but the socket on this updater's standard input listens on " + local
          + ": make the socket unit's ListenStream= (or UPDATER_LISTEN) and service.socket.listen name the same "
          + "address");
    }
    return socket.listen() + " (passed as " + (socket.pass() == UpdaterConfig.Pass.STDIN ? "standard input"
        : "descriptor 3 with LISTEN_FDS") + ")";
  }

  /** Same port, and the configured host's address (any of a name's), or any address when none is configured. */
  static boolean matches(InetSocketAddress address, UpdaterConfig.Socket socket) {
    if (address.getPort() != socket.port()) {
      return false;
    }
    InetAddress bound = address.getAddress();
    if (socket.host() == null) {
      return bound.isAnyLocalAddress();
    }
    try {
      return Arrays.asList(InetAddress.getAllByName(socket.host())).contains(bound);
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
