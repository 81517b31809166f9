package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SmallPartsTest {
  @Test
  void buildTimestampsReadIsoAndEpochSecondsAndTreatOneCharacterAsUnset() {
    assertThat(BuildTimestamps.parse("2026-11-22T00:00:00Z")).contains(Instant.parse("2026-11-22T00:00:00Z"));
    assertThat(BuildTimestamps.parse("2026-11-22T01:00:00+01:00")).contains(Instant.parse("2026-11-22T00:00:00Z"));
    assertThat(BuildTimestamps.parse("1700000000")).contains(Instant.ofEpochSecond(1_700_000_000L));
    assertThat(BuildTimestamps.parse("a")).isEmpty();
    assertThat(BuildTimestamps.parse(null)).isEmpty();
    assertThatThrownBy(() -> BuildTimestamps.parse("yesterday")).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("<project.build.outputTimestamp>");
  }

  @Test
  void sizesAreHumanReadable() {
    assertThat(Sizes.of(812)).isEqualTo("812 B");
    assertThat(Sizes.of(12_595)).isEqualTo("12.3 KiB");
    assertThat(Sizes.of(5L << 20)).isEqualTo("5.0 MiB");
    assertThat(Sizes.percent(0.0123)).isEqualTo("1.23%");
  }

  @Test
  void anAssemblysOnlyTopDirectoryIsTheTree(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws java.io.IOException {
    java.nio.file.Files.createDirectories(dir.resolve("one/app-1.2/bin"));
    assertThat(Payloads.singleTopDirectory(dir.resolve("one"))).isEqualTo(dir.resolve("one/app-1.2"));
    java.nio.file.Files.createDirectories(dir.resolve("two/app-1.2"));
    java.nio.file.Files.writeString(dir.resolve("two/README"), "top-level file");
    assertThat(Payloads.singleTopDirectory(dir.resolve("two"))).isEqualTo(dir.resolve("two"));
  }

  @Test
  void aJarBecomesAOneFileTreeWithAStableName(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws java.io.IOException {
    java.nio.file.Path jar = java.nio.file.Files.writeString(dir.resolve("demo-1.2.3.JAR"), "jar bytes");

    java.nio.file.Path tree = Payloads.stage(jar, "demo", dir.resolve("staging"), new CopyingEngine());

    assertThat(new CopyingEngine().scan(tree).entries()).extracting(e -> e.path()).containsExactly("demo.jar");
  }

  @Test
  void aMissingPayloadSaysToPackageFirst(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    assertThatThrownBy(() -> Payloads.stage(dir.resolve("absent.jar"), "demo", dir.resolve("s"), new CopyingEngine()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("mvn package upgrade:release")
        .hasMessageContaining("<payload>");
  }

  @Test
  void requestsValidateNamesAndSayWhichElementToFix() {
    Fixture.days(1);
    assertThatThrownBy(() -> new ReleaseRequest("Demo", "1.0", "stable", java.nio.file.Path.of("x"), "repo", null,
        io.upgradekit.schema.sign.SigningKey.generate(), 3, Instant.EPOCH, Fixture.days(1), Fixture.days(1), Map.of(),
        java.nio.file.Path.of("w"), java.nio.file.Path.of("s"), 1))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("<app>");
    assertThatThrownBy(() -> new ReleaseRequest("demo", "1.0", "stable", java.nio.file.Path.of("x"), " ", null,
        io.upgradekit.schema.sign.SigningKey.generate(), 3, Instant.EPOCH, Fixture.days(1), Fixture.days(1), Map.of(),
        java.nio.file.Path.of("w"), java.nio.file.Path.of("s"), 1))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("<repository> is not set");
    assertThatThrownBy(() -> new ReleaseRequest("demo", "1.0", "stable", java.nio.file.Path.of("x"), "repo", null,
        io.upgradekit.schema.sign.SigningKey.generate(), -1, Instant.EPOCH, Fixture.days(1), Fixture.days(1), Map.of(),
        java.nio.file.Path.of("w"), java.nio.file.Path.of("s"), 1))
        .isInstanceOf(ConfigurationException.class).hasMessageContaining("<deltaCount>");
  }

  @Test
  void theRequestNeverPrintsTheToken() {
    ReleaseRequest request = new ReleaseRequest("demo", "1.0", "stable", java.nio.file.Path.of("x"),
        "https://example.invalid/", "s3cret-token", io.upgradekit.schema.sign.SigningKey.generate(), 3, Instant.EPOCH,
        Fixture.days(1), Fixture.days(1), Map.of(), java.nio.file.Path.of("w"), java.nio.file.Path.of("s"), 1);

    assertThat(request.toString()).doesNotContain("s3cret-token").contains("token=(set)");
  }
}
