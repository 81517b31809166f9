package io.upgradekit.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.api.RolloutReport;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RolloutTextDrillTest {
  @Test
  void rolloutStatusListsEachNodesNewestDrill() {
    Instant t = Instant.parse("2026-11-22T10:00:00Z");
    RolloutReport report = new RolloutReport(t, "shop", "2.0", "complete", false, null, List.of("stable"), null, "1.0",
        null, null, null, 0, 0, null, 0, List.of(), null, null, null, List.of()).withDrills(List.of(
            new RolloutReport.Drill("web-01", "1.0", t, "ROLLED_BACK", 1.5, "COMMITTED", 2.25, 200L, 4L, 0.6),
            new RolloutReport.Drill("web-02", "1.0", t, "ROLLED_BACK", 1.0, null, null, null, null, null)));

    assertThat(RolloutText.report(report)).contains(
        "  drills (updater drill; the newest per node):\n",
        "   2026-11-22T10:00:00Z web-01                   back to 1.0: ROLLED_BACK in 1.5 s; forward: COMMITTED in 2.3 s;"
            + " 4 of 200 probe requests failed, longest gap 0.6 s\n",
        "   2026-11-22T10:00:00Z web-02                   back to 1.0: ROLLED_BACK in 1.0 s; forward: not reported yet\n");
  }
}
