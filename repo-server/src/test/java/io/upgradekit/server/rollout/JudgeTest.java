package io.upgradekit.server.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.RolloutPlan.RollbackPolicy;
import io.upgradekit.server.rollout.Judge.Outcome;
import io.upgradekit.server.rollout.Judge.Sample;
import io.upgradekit.server.rollout.Judge.Verdict;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JudgeTest {
  private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");
  private static final RollbackPolicy AUTO = new RollbackPolicy("auto", null, null, 300L);

  private static List<Sample> samples(String node, double errorRate, double latency, int count) {
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(new Sample(node, NOW.minusSeconds(10L * i), errorRate, latency));
    }
    return out;
  }

  @Test
  void anErrorRateBeyondTheFactorOverTheSameMinutesIsWorse() {
    List<Sample> upgraded = samples("canary", 0.20, 0.020, 5);
    List<Sample> old = new ArrayList<>(samples("a", 0.01, 0.020, 5));
    old.addAll(samples("b", 0.01, 0.021, 5));

    Verdict v = Judge.judge(upgraded, old, AUTO, NOW);

    assertThat(v.outcome()).isEqualTo(Outcome.WORSE);
    assertThat(v.reason()).contains("error rate 0.2000 on 1 upgraded nodes vs 0.0100 on 2 old");
  }

  @Test
  void theSameRiseOnOldNodesIsTrafficNotTheRelease() {
    // Everybody's errors rose: the canary is not worse than the old nodes over the same minutes.
    Verdict v = Judge.judge(samples("canary", 0.20, 0.02, 5), samples("a", 0.18, 0.02, 5), AUTO, NOW);

    assertThat(v.outcome()).isEqualTo(Outcome.OK);
  }

  @Test
  void combineAllNeedsBothFiguresBeyondTheirFactors() {
    RollbackPolicy all = new RollbackPolicy("auto", 3.0, 2.0, 300L, "all");

    assertThat(Judge.judge(samples("c", 0.2, 0.02, 3), samples("a", 0.01, 0.02, 3), all, NOW).outcome())
        .isEqualTo(Outcome.OK);
    assertThat(Judge.judge(samples("c", 0.2, 0.09, 3), samples("a", 0.01, 0.02, 3), all, NOW).outcome())
        .isEqualTo(Outcome.WORSE);
  }

  @Test
  void aPerfectOldFleetDoesNotMakeOneErrorARegression() {
    // 0.002 against a perfect baseline: floored at 0.001 x 3 = 0.003, within.
    assertThat(Judge.judge(samples("c", 0.002, 0.01, 3), samples("a", 0.0, 0.01, 3), AUTO, NOW).outcome())
        .isEqualTo(Outcome.OK);
  }

  @Test
  void samplesOutsideTheWindowAndNonsenseAreIgnored() {
    List<Sample> upgraded = new ArrayList<>(List.of(new Sample("c", NOW.minusSeconds(3600), 0.9, 9)));
    upgraded.add(new Sample("c", NOW, Double.NaN, 0.01));
    upgraded.add(new Sample("c", NOW, -1, 0.01));

    Verdict v = Judge.judge(upgraded, samples("a", 0.01, 0.01, 3), AUTO, NOW);

    assertThat(v.outcome()).isEqualTo(Outcome.NO_VERDICT);
    assertThat(v.reason()).contains("no samples from upgraded nodes");
  }

  @Test
  void aChattyNodeDoesNotOutweighTheOthers() {
    List<Sample> upgraded = new ArrayList<>(samples("chatty", 0.0, 0.01, 100));
    upgraded.addAll(samples("quiet", 0.2, 0.01, 1));

    Verdict v = Judge.judge(upgraded, samples("a", 0.01, 0.01, 3), AUTO, NOW);

    assertThat(v.upgradedErrorRate()).isEqualTo(0.1, org.assertj.core.data.Offset.offset(1e-9));
  }
}
