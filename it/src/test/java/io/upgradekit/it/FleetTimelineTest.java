package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class FleetTimelineTest {
  private static final Instant T = Instant.parse("2030-01-01T00:00:00Z");

  private static FleetTimeline.Span span(String node, int from, int to) {
    return new FleetTimeline.Span(node, T.plusSeconds(from), T.plusSeconds(to));
  }

  @Test
  void thePeakCountsSpansOpenAtOneInstant() {
    FleetTimeline.Peak peak = FleetTimeline.peak(List.of(span("a", 0, 10), span("b", 5, 15), span("c", 8, 9),
        span("d", 20, 30)));
    assertThat(peak.spans()).isEqualTo(3);
    assertThat(peak.at()).isEqualTo(T.plusSeconds(8));
    assertThat(peak.nodes()).containsExactlyInAnyOrder("a", "b", "c");
  }

  @Test
  void aSpanEndingWhenAnotherStartsDoesNotOverlapIt() {
    assertThat(FleetTimeline.peak(List.of(span("a", 0, 10), span("b", 10, 20), span("c", 20, 25))).spans())
        .isEqualTo(1);
    assertThat(FleetTimeline.peak(List.of()).spans()).isZero();
  }
}
