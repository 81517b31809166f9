package io.upgradekit.plugin.set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.ReleaseSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReactorSetTest {
  static ReactorSet.Module module(String artifact, String... dependencies) {
    return new ReactorSet.Module("g:" + artifact, artifact, "1.0", List.of(dependencies));
  }

  @Test
  void modulesDependingOnOtherComponentsModulesComeAfterThem() {
    SetDescriptor d = ReactorSet.descriptor(List.of(module("gateway", "g:api", "org.slf4j:slf4j-api"),
        module("api", "g:cache", "g:cache"), module("cache", "g:database"), module("database", "g:common")),
        "Sequential", " auto ", List.of("api 1.x requires cache >= 1.0"));

    assertThat(d.components()).extracting(ReleaseSet.Component::app, c -> c.dependsOn()).containsExactly(
        org.assertj.core.groups.Tuple.tuple("gateway", List.of("api")),
        org.assertj.core.groups.Tuple.tuple("api", List.of("cache")),
        org.assertj.core.groups.Tuple.tuple("cache", List.of("database")),
        org.assertj.core.groups.Tuple.tuple("database", List.of()));
    assertThat(d.strategy()).isEqualTo(ReleaseSet.Strategy.SEQUENTIAL);
    assertThat(d.rollbackPolicy()).isEqualTo(ReleaseSet.Rollback.AUTO);
    assertThat(d.problems()).isEmpty();
    assertThat(d.toSet("shop", "1", 1, java.time.Instant.EPOCH, java.time.Instant.EPOCH.plusSeconds(9)).graph().order())
        .containsExactly("database", "cache", "api", "gateway");
  }

  @Test
  void aBuildWithoutComponentsOrWithBadSettingsSaysWhatToDo() {
    assertThatThrownBy(() -> ReactorSet.descriptor(List.of(), "rolling", "manual", List.of()))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
          assertThat(e.getMessage()).contains("write release-set.yaml");
        });
    assertThatThrownBy(() -> ReactorSet.descriptor(List.of(module("a")), "blue-green", "manual", List.of()))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.getMessage())
            .isEqualTo("<setStrategy> is 'blue-green': write rolling or sequential"));
    assertThatThrownBy(() -> ReactorSet.descriptor(List.of(module("a")), "rolling", "manual", List.of("a needs b")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(
            ErrorCode.CONTRACT_INVALID));
    assertThatThrownBy(() -> ReactorSet.descriptor(List.of(new ReactorSet.Module("g:A", "A", "1", List.of())),
        "rolling", "manual", List.of())).isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID);
          assertThat(e.getMessage()).startsWith("module g:A: app 'A'");
        });
  }
}
