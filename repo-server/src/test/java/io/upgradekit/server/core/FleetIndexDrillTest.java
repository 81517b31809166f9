package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The two reports of an {@code updater drill} become one drill per node under the release. */
class FleetIndexDrillTest {
  static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

  static Feedback report(String event, String node, String from, String to, String outcome, Instant at,
      Map<String, Double> metrics) {
    return new Feedback(DocumentType.FEEDBACK.typeName(), event, 1, node, "shop", from, to, "END", outcome, List.of(),
        null, null, metrics, at, null);
  }

  @Test
  void bothLegsAreFoldedIntoTheNodesNewestDrill() {
    FleetIndex index = new FleetIndex();
    index.add(report("e1", "web-01", "1.0", "2.0", "COMMITTED", T, null), 100); // an ordinary update
    index.add(report("e2", "web-01", "2.0", "1.0", "ROLLED_BACK", T.plusSeconds(60), Map.of("drill.leg", 1.0,
        "drill.seconds", 1.5, "drill.requests", 80.0, "drill.requests_failed", 3.0, "drill.longest_gap_seconds", 0.4)),
        100);
    assertThat(index.drills("shop", "2.0")).singleElement().satisfies(d -> {
      assertThat(d.forwardOutcome()).as("the forward leg is not reported yet").isNull();
      assertThat(d.backSeconds()).isEqualTo(1.5);
    });
    index.add(report("e3", "web-01", "1.0", "2.0", "COMMITTED", T.plusSeconds(70), Map.of("drill.leg", 2.0,
        "drill.seconds", 2.5, "drill.requests", 120.0, "drill.requests_failed", 1.0, "drill.longest_gap_seconds", 0.6)),
        100);
    index.add(report("e0", "web-01", "2.0", "1.0", "ROLLED_BACK", T.minusSeconds(600), Map.of("drill.leg", 1.0,
        "drill.seconds", 9.0)), 100); // an older drill, read late: ignored

    assertThat(index.drills("shop", "2.0")).containsExactly(new RolloutReport.Drill("web-01", "1.0",
        T.plusSeconds(60), "ROLLED_BACK", 1.5, "COMMITTED", 2.5, 200L, 4L, 0.6));
    assertThat(index.drills("shop", "1.0")).isEmpty();
    assertThat(index.drills("other", "2.0")).isEmpty();

    FleetIndex fresh = new FleetIndex();
    fresh.replaceWith(index);
    assertThat(fresh.drills("shop", "2.0")).hasSize(1);
  }
}
