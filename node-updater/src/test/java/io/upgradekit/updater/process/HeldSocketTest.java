package io.upgradekit.updater.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the updater accepts as the held socket, and that nothing starts without it. */
@Timeout(30)
class HeldSocketTest {
  @TempDir
  Path tmp;

  private static UpdaterConfig.Socket socket(String host, int port) {
    return new UpdaterConfig.Socket(host, port, UpdaterConfig.Pass.STDIN);
  }

  @Test
  void aListeningSocketOnTheConfiguredAddressIsAccepted() throws Exception {
    try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      assertThat(HeldSocket.check(server, socket("127.0.0.1", port), "u.yaml"))
          .isEqualTo("127.0.0.1:" + port + " (passed as standard input)");
      assertThat(HeldSocket.check(server, socket("localhost", port), "u.yaml")).startsWith("localhost:" + port);
      assertThat(HeldSocket.check(server, new UpdaterConfig.Socket("127.0.0.1", port, UpdaterConfig.Pass.LISTEN_FDS),
          "u.yaml")).endsWith("(passed as descriptor 3 with LISTEN_FDS)");
    }
    try (ServerSocketChannel any = ServerSocketChannel.open().bind(new InetSocketAddress(0))) {
      int port = ((InetSocketAddress) any.getLocalAddress()).getPort();
      assertThat(HeldSocket.check(any, socket(null, port), "u.yaml")).startsWith(port + " (");
    }
  }

  @Test
  void anythingElseIsAConfigurationErrorThatSaysHowToStartTheUpdater() throws Exception {
    assertRefused(null, socket("127.0.0.1", 8080), "u.yaml: service.socket is set (127.0.0.1:8080), but this "
        + "updater's standard input is not a socket: start the updater with the socket on its standard input: "
        + "through systemd's socket unit (systemd/upgradekit-updater.socket in the distribution) or with "
        + "UPDATER_LISTEN=127.0.0.1:8080 in bin/updater's environment");
    try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        SocketChannel connected = SocketChannel.open(server.getLocalAddress())) {
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      assertRefused(connected, socket("127.0.0.1", port), "a connected socket, not a listening one");
      assertRefused(server, socket("127.0.0.1", port == 65535 ? 1 : port + 1),
          "service.socket.listen is 127.0.0.1:" + (port == 65535 ? 1 : port + 1) + ", but the socket on this "
          + "updater's standard input listens on /127.0.0.1:" + port + ": make the socket unit's ListenStream= "
          + "(or UPDATER_LISTEN) and service.socket.listen name the same address");
      assertRefused(server, socket(null, port), "listens on /127.0.0.1:" + port);
      assertRefused(server, socket("127.0.0.2", port), "listens on /127.0.0.1:" + port);
    }
    assertThat(HeldSocket.matches(new InetSocketAddress(InetAddress.getLoopbackAddress(), 80),
        socket("no-such-host.invalid", 80))).isFalse();
  }

  @Test
  void withoutTheHeldSocketNoProcessIsStarted() {
    UpdaterConfig.Service service = new UpdaterConfig.Service(UpdaterConfig.Strategy.RESTART,
        new UpdaterConfig.ProcessSpec(List.of("sh", "-c", "touch started; exec sleep 30"), tmp, Map.of()), null, null,
        null, Duration.ofSeconds(5), Duration.ofMillis(100), socket("127.0.0.1", 8080), null);
    ServiceController c = new ServiceController(service, tmp.resolve("state/service.json"),
        tmp.resolve("state/service.log"), tmp, line -> { }, "u.yaml", () -> null);

    assertThatThrownBy(() -> c.requireHeldSocket()).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID));
    assertThatThrownBy(() -> c.start("1.0.0")).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID));
    assertThat(tmp.resolve("started")).doesNotExist();
    assertThat(c.isRunning()).isFalse();
  }

  private static void assertRefused(java.nio.channels.Channel channel, UpdaterConfig.Socket socket, String message) {
    assertThatThrownBy(() -> HeldSocket.check(channel, socket, "u.yaml"))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID))
        .hasMessageContaining(message);
  }
}
