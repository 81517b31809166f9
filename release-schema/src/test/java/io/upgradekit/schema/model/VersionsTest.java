package io.upgradekit.schema.model;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class VersionsTest {
  @Test
  void versionsOrderAsReleasesDo() {
    List<String> ordered = List.of("1.0-alpha", "1.0-RC1", "1.0-rc2", "1", "1.0.1", "1.2", "1.10", "v2-RC1", "2.0.0",
        "2.0.1+build.3", "10.0");
    List<String> shuffled = new ArrayList<>(ordered);
    Collections.shuffle(shuffled, new java.util.Random(3));
    shuffled.sort(Versions.ORDER);

    assertThat(shuffled).containsExactlyElementsOf(ordered);
    assertThat(Versions.equivalent("v2", "2.0.0+b7")).isTrue();
    assertThat(Versions.equivalent("2.0", "2.0.1")).isFalse();
    assertThat(Versions.compare("2.01", "2.1")).isZero();
    assertThat(Versions.compare("99999999999999999999.0", "3")).isPositive();
  }

  @Test
  void rangesMatchWildcardsBoundsAndExactVersions() {
    VersionRange two = VersionRange.parse("2.x");
    assertThat(List.of("2", "2.0", "v2.5.1", "2.9-RC1")).allMatch(two::contains);
    assertThat(List.of("1.9", "3.0-RC1", "20.1")).noneMatch(two::contains);

    VersionRange bounded = VersionRange.parse(">=2.0 ,< 3");
    assertThat(bounded.toString()).isEqualTo(">= 2.0, < 3");
    assertThat(bounded.contains("2.4")).isTrue();
    assertThat(bounded.contains("3.0")).isFalse();
    assertThat(VersionRange.parse("2.1.4").contains("2.1.4.0")).isTrue();
    assertThat(VersionRange.parse("= 2.1.4").contains("2.1.5")).isFalse();
    assertThat(VersionRange.parse("*").contains("0.0.1-anything")).isTrue();
    assertThat(VersionRange.parse("2.1.*").toString()).isEqualTo("2.1.x");
  }

  @Test
  void emptyRangesAreSeen() {
    assertThat(VersionRange.parse(">= 3, < 2").empty()).isTrue();
    assertThat(VersionRange.parse("> 2, <= 2").empty()).isTrue();
    assertThat(VersionRange.parse("= 2, >= 3").empty()).isTrue();
    assertThat(VersionRange.parse(">= 2, <= 2").empty()).isFalse();
    assertThat(VersionRange.parse(">= 2, < 3").empty()).isFalse();
  }

  @Test
  void malformedRangesAreRefusedWithTheSyntax() {
    for (String bad : new String[] {"", " ", ">=", "2.x, ", "~2", ">= 2.x", "2-RC.x", "../etc", "1,2,3,4,5,6,7,8,9",
        "x".repeat(129)}) {
      assertCode(() -> VersionRange.parse(bad), ErrorCode.CONTRACT_INVALID);
    }
    assertCode(() -> Versions.compare("2 0", "1"), ErrorCode.NAME_INVALID);
  }
}
