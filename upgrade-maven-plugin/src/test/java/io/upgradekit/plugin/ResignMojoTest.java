package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.ReleaseRequest;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.SchemaDeltaEngine;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.apache.maven.api.plugin.testing.InjectMojo;
import org.apache.maven.api.plugin.testing.MojoTest;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mojo wiring of resign: the pom and the documented defaults reach the goal, and it re-signs. */
@MojoTest
class ResignMojoTest {
  private static final String POM = "src/test/resources/unit/resign/pom.xml";
  private static final Instant BUILT = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir Path dir;

  @Test
  @InjectMojo(goal = "resign", pom = POM)
  void documentedDefaultsApply(ResignMojo mojo) {
    assertThat(mojo.repository).isEqualTo("target/repo");
    assertThat(mojo.app).isEqualTo("demo");
    assertThat(mojo.channel).isEqualTo("stable");
    assertThat(mojo.pointerExpiryDays).isEqualTo(365);
    assertThat(mojo.resignWithinDays).isNull();
  }

  @Test
  @InjectMojo(goal = "resign", pom = POM)
  void reSignsThePointerAndFailsTheBuildWhenTheManifestExpiresFirst(ResignMojo mojo) throws Exception {
    Path repository = dir.resolve("repo");
    Path keyFile = dir.resolve("release.pem");
    Clock built = Clock.fixed(BUILT, ZoneOffset.UTC);
    new KeyGenerator(built, e -> { }).generate(new KeyGenerator.Request(keyFile, repository, null,
        Duration.ofDays(3650)));
    Path payload = Files.writeString(Files.createDirectories(dir.resolve("payload")).resolve("app.txt"), "v1");
    new ReleaseBuilder(new SchemaDeltaEngine(e -> { }), (location, token) -> Repositories.open(location, token, dir),
        built, e -> { }).release(new ReleaseRequest("demo", "1.0.0", "stable", payload.getParent(),
            repository.toString(), null, SigningKey.fromPem(Files.readString(keyFile)), 3, BUILT,
            Duration.ofDays(400), Duration.ofDays(30), Map.of(), dir.resolve("work"), dir.resolve("release.json"), 5));
    mojo.repository = repository.toString();
    mojo.keyFile = keyFile.toFile();
    mojo.environment = Map.of();
    Instant now = BUILT.plus(Duration.ofDays(25));
    mojo.clock = Clock.fixed(now, ZoneOffset.UTC);
    mojo.pointerExpiryDays = 30;

    mojo.execute();

    byte[] bytes = Files.readAllBytes(repository.resolve(RepositoryLayout.channelPointer("demo", "stable")));
    ChannelPointer pointer = Json.read(Envelopes.parse(bytes, DocumentType.CHANNEL).payloadBytes(),
        ChannelPointer.class, "channel");
    assertThat(pointer.sequence()).isEqualTo(2);
    assertThat(pointer.expires()).isEqualTo(now.plus(Duration.ofDays(30)));

    mojo.pointerExpiryDays = 400;
    assertThatThrownBy(mojo::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("METADATA_EXPIRED: the release manifest of demo 1.0.0")
        .hasMessageContaining("-Dupgrade.pointerExpiryDays=375");
  }
}
