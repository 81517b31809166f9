package io.upgradekit.it.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.load.LoadReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchReportTest {
  @Test
  void spreadIsMinMedianAndMaxWithTheMeanOfTheMiddleTwoForAnEvenCount() {
    assertThat(BenchReport.Spread.of(List.of(ms(300), ms(100), ms(200))))
        .isEqualTo(new BenchReport.Spread(ms(100), ms(200), ms(300)));
    assertThat(BenchReport.Spread.of(List.of(ms(400), ms(100), ms(200), ms(300))).median()).isEqualTo(ms(250));
    assertThat(BenchReport.Spread.of(List.of())).isNull();
    assertThat(BenchReport.counts(List.of(3, 0, 1, 8))).isEqualTo("0 | 2 | 8");
    assertThat(BenchReport.counts(List.of(3, 0, 2, 8))).isEqualTo("0 | 2.5 | 8");
  }

  @Test
  void theRestartTargetIsTheOwnStartPlusHalfASecond() {
    assertThat(round("restart", 1, ms(1_100), ms(600), 40).restartTargetMet()).isTrue();
    assertThat(round("restart", 1, ms(1_101), ms(600), 40).restartTargetMet()).isFalse();
  }

  @Test
  void theSummarySaysWhichSwitchesMissedTheirTarget() {
    String restart = print(List.of(round("restart", 1, ms(900), ms(600), 200),
        round("restart", 2, ms(1_400), ms(600), 350)));
    assertThat(restart).contains("gap ≤ own start + 0.5 s: **missed** in 1 of 2 switches")
        .contains("| failed requests | 200 | 275 | 350 | all rounds: refused 550 | |");

    String overlap = print(List.of(round("overlap", 1, ms(40), ms(600), 0), round("overlap", 2, ms(50), ms(600), 0)));
    assertThat(overlap).contains("0 at 500 requests/s: **met** in 2 of 2 switches");
  }

  private static String print(List<BenchReport.NodeRound> rounds) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BenchReport.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), rounds);
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static BenchReport.NodeRound round(String strategy, int round, Duration gap, Duration ownStart, int failed) {
    LoadReport.Stats stats = new LoadReport.Stats(strategy + "-1", 5000, failed,
        failed == 0 ? Map.of() : Map.of("refused", failed), gap, ms(7_000), ms(2), ms(3), ms(10), ms(50), 0, Map.of());
    SwitchTimeline timeline = new SwitchTimeline(null, null, null, null, null, null, null);
    return new BenchReport.NodeRound(strategy, round, strategy + "-1", round + ".0.0", (round + 1) + ".0.0", 0.5, 500,
        stats, new OwnStart.Result(ownStart, ms(30), "-Xmx64m"), ms(3_000), ms(8_000),
        Map.of("STOP", 1_000L, "SWITCH", 3L, "START", 300L, "VERIFY", 3_000L), timeline);
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }
}
