package io.upgradekit.it.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.load.LoadReport;
import io.upgradekit.it.load.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SwitchTimelineTest {
  private static final Instant LOAD_START = Instant.parse("2026-11-22T09:29:20Z");

  @Test
  void splitsARestartGapFromTheServiceLogTheUpdaterLogAndTheAnswers() {
    String serviceLog = """
        2026-11-22T09:29:18.546Z hello-service 1.0.0 listening on 127.0.0.1:37567 (pid 31568)
        2026-11-22 09:29:27.407:INFO :oejs.Server:drain: Stopped oejs.Server@1a0dcaa{STOPPING}
        2026-11-22T09:29:27.392Z hello-service 1.0.0 draining: listener closed, 1 connections open
        2026-11-22T09:29:27.406Z hello-service 1.0.0 drained after 10 ms (0 connections left); stopping
        2026-11-22T09:29:28.408Z hello-service 1.0.0 stopped 1016 ms after the drain began
        2026-11-22T09:29:30.552Z hello-service 2.0.0 listening on 127.0.0.1:37567 (pid 31770)
        """;
    String updaterLog = """
        2026-11-22T09:29:18.227Z started 1.0.0 as pid 31568
        2026-11-22T09:29:30.123Z stopped pid 31568 (1.0.0)
        2026-11-22T09:29:30.140Z [94706d9c] STOP ok 3766 ms -> SWITCH
        2026-11-22T09:29:30.164Z started 2.0.0 as pid 31770
        """;
    LoadReport load = new LoadReport(500, LOAD_START, Duration.ofSeconds(20), List.of(), null, List.of(
        answer(0, "7.380", "1.0.0"), answer(1, "7.385", "1.0.0"), answer(0, "7.390", "1.0.0"),
        new Sample(0, 0, 0, nanos("8.000"), 0, "refused", null),
        answer(0, "10.615", "2.0.0"), answer(0, "10.700", "2.0.0")));

    SwitchTimeline t = SwitchTimeline.of("1.0.0", "2.0.0", serviceLog, updaterLog, load, 0,
        Instant.parse("2026-11-22T09:29:26Z"));

    assertThat(t.parts()).containsExactly(Duration.ofMillis(2), Duration.ofMillis(1016), Duration.ofMillis(1715),
        Duration.ofMillis(41), Duration.ofMillis(388), Duration.ofMillis(63));
    assertThat(t.gap()).isEqualTo(Duration.ofMillis(3225));
    assertThat(t.parts().stream().reduce(Duration.ZERO, Duration::plus)).isEqualTo(t.gap());
  }

  @Test
  void linesBeforeThePublicationAndMissingLinesGiveNoPart() {
    String serviceLog = "2026-11-22T09:29:18.546Z hello-service 2.0.0 listening on 127.0.0.1:1 (pid 1)\n";
    LoadReport load = new LoadReport(500, LOAD_START, Duration.ofSeconds(20), List.of(), null, List.of());

    SwitchTimeline t = SwitchTimeline.of("1.0.0", "2.0.0", serviceLog, "", load, 0,
        Instant.parse("2026-11-22T09:29:26Z"));

    assertThat(t.listening()).isNull();
    assertThat(t.parts()).containsOnlyNulls();
    assertThat(t.gap()).isNull();
  }

  private static Sample answer(int target, String secondsAfterStart, String version) {
    long end = nanos(secondsAfterStart);
    return new Sample(target, end - 2_000_000, end - 2_000_000, end, 200, null, version);
  }

  private static long nanos(String seconds) {
    return Math.round(Double.parseDouble(seconds) * 1e9);
  }
}
