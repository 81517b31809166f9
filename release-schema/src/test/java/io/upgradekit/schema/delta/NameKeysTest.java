package io.upgradekit.schema.delta;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NameKeysTest {
  @Test
  void versionsAndHashesDisappear() {
    assertThat(NameKeys.key("lib/jetty-server-12.0.14.jar")).isEqualTo(NameKeys.key("lib/jetty-server-12.0.15.jar"));
    assertThat(NameKeys.key("apache-maven-3.9.8/lib/maven-core-3.9.8.jar"))
        .isEqualTo(NameKeys.key("apache-maven-3.9.9/lib/maven-core-3.9.9.jar"));
    assertThat(NameKeys.key("lib/asm-9.7.jar")).isEqualTo(NameKeys.key("lib/asm-9.7.1.jar"));
    assertThat(NameKeys.key("guava-33.3.0-jre.jar")).isEqualTo(NameKeys.key("guava-33.3.1-jre.jar"));
    assertThat(NameKeys.key("assets/main-C047jAp3.js")).isEqualTo(NameKeys.key("assets/main-Bx9k2LmQ.js"));
    assertThat(NameKeys.key("assets/vendor-0a1b2c3d.css")).isEqualTo(NameKeys.key("assets/vendor-9f8e7d6c.css"));
  }

  @Test
  void wordsWithDigitsStay() {
    assertThat(NameKeys.key("lib/jetty-ee8-nested-1.jar")).isNotEqualTo(NameKeys.key("lib/jetty-ee10-nested-1.jar"));
    assertThat(NameKeys.key("lib/http2/x.jar")).isEqualTo("lib/http2/x.jar");
    assertThat(NameKeys.key("log4j-api.jar")).isEqualTo("log4j-api.jar");
    assertThat(NameKeys.key("main.js")).isNotEqualTo(NameKeys.key("vendor.js"));
  }
}
