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

  @Test
  void bundlerHashesAsRealBuildsEmitThem() {
    // Vite/Rollup/esbuild: 8 base64url characters, which may hold - and _ and start or end with -.
    assertThat(NameKeys.key("assets/CodeEditor-BNl7glDS.js")).isEqualTo(NameKeys.key("assets/CodeEditor--AHMF_Ho.js"))
        .isEqualTo("assets/CodeEditor-*.js");
    assertThat(NameKeys.key("assets/FlowDetails-CkI1qIU-.js.map"))
        .isEqualTo(NameKeys.key("assets/FlowDetails-BgI_knZ1.js.map")).isEqualTo("assets/FlowDetails-*.js.map");
    assertThat(NameKeys.key("AddIdentityProvider-87-u-WcW.js")).isEqualTo("AddIdentityProvider-*.js");
    assertThat(NameKeys.key("AddOAuth2-CUDrla-0.js")).isEqualTo("AddOAuth2-*.js");
    assertThat(NameKeys.key("AddKubernetesConnect-BcXPZoZC.js")).isEqualTo("AddKubernetesConnect-*.js");
    // webpack: [id].[contenthash] (the chunk id changes too), name.[contenthash], name-[contenthash].
    assertThat(NameKeys.key("web/170.33fc56c43d5cf35d.js")).isEqualTo(NameKeys.key("web/5444.5b7ad1c378166f3f.js"))
        .isEqualTo("web/#.*.js");
    assertThat(NameKeys.key("web/main.ce8fab773e7158c7.js")).isEqualTo("web/main.*.js");
    assertThat(NameKeys.key("static/js/main.3f2a1b9c.chunk.js")).isEqualTo("static/js/main.*.chunk.js");
  }

  @Test
  void letterOnlyHashesOnlyInTheLooseKey() {
    // No character test tells these Vite hashes from words, so only the loose key (whose pairs are
    // confirmed by content) blanks them.
    assertThat(NameKeys.key("ScopeForm-Clmbznvz.js")).isEqualTo("ScopeForm-Clmbznvz.js");
    assertThat(NameKeys.looseKey("ScopeForm-Clmbznvz.js")).isEqualTo(NameKeys.looseKey("ScopeForm-DRR8_ehX.js"))
        .isEqualTo("ScopeForm-*.js");
    assertThat(NameKeys.looseKey("CreateInitialAccessToken-hwukiPff.js")).isEqualTo("CreateInitialAccessToken-*.js");
    assertThat(NameKeys.key("jackson-databind.jar")).isEqualTo("jackson-databind.jar");
  }

  @Test
  void camelCaseStemsAndWordsStay() {
    // Unrelated chunks must not share a key because their names have capitals.
    assertThat(NameKeys.looseKey("AddIdentityProvider-87-u-WcW.js"))
        .isNotEqualTo(NameKeys.looseKey("AddOpenIdConnect-CG9y0kB7.js"));
    assertThat(NameKeys.key("org/acme/RequestTraceHelper.class")).isEqualTo("org/acme/RequestTraceHelper.class");
    assertThat(NameKeys.key("com/google/protobuf/CodedOutputStream.class"))
        .isEqualTo("com/google/protobuf/CodedOutputStream.class");
    assertThat(NameKeys.key("org/eclipse/jetty/http2/Http2ServerConnection.class"))
        .isNotEqualTo(NameKeys.key("org/eclipse/jetty/http2/Http2ClientConnection.class"));
    assertThat(NameKeys.key("org/acme/Base64Encoder.class")).isEqualTo("org/acme/Base64Encoder.class");
    // Words joined by dashes and versions are not hashes.
    assertThat(NameKeys.key("lib/jetty-ee10-webapp-12.0.14.jar")).isEqualTo("lib/jetty-ee10-webapp-#.jar");
    assertThat(NameKeys.key("lib/maven-resolver-provider-3.9.8.jar")).isEqualTo("lib/maven-resolver-provider-#.jar");
    assertThat(NameKeys.key("assets/vendor-react.js")).isEqualTo("assets/vendor-react.js");
  }
}
