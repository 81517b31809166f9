package io.upgradekit.it.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TcpCountersTest {
  @Test
  void readsTheListenAndSynCountersOfTheTcpExtLines() {
    TcpCounters before = TcpCounters.parse(List.of(
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans",
        "TcpExt: 0 3 4 10",
        "IpExt: InNoRoutes ListenOverflows",
        "IpExt: 0 99"));
    TcpCounters after = TcpCounters.parse(List.of(
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans",
        "TcpExt: 0 5 6 11"));

    assertThat(before.values()).isEqualTo(Map.of("ListenOverflows", 3L, "ListenDrops", 4L, "TCPSynRetrans", 10L));
    assertThat(after.since(before)).containsExactly(Map.entry("ListenOverflows", 2L), Map.entry("ListenDrops", 2L),
        Map.entry("TCPSynRetrans", 1L));
  }

  @Test
  void nothingToCompareWithoutTheFile() {
    TcpCounters none = TcpCounters.parse(List.of());
    assertThat(none.values()).isEmpty();
    assertThat(TcpCounters.read().since(none)).isEmpty();
  }
}
