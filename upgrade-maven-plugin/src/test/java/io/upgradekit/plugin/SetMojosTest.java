package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.plugin.set.SetFixture;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.InventorySnapshot;
import io.upgradekit.schema.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.maven.api.plugin.testing.InjectMojo;
import org.apache.maven.api.plugin.testing.MojoTest;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mojo wiring of release-set and plan: the pom and the documented defaults reach the goals, and they run. */
@MojoTest
class SetMojosTest {
  private static final String POM = "src/test/resources/unit/release-set/pom.xml";

  @TempDir Path dir;

  static final String FOUR = """
      components:
        - {name: database, version: v2, depends_on: []}
        - {name: cache,    version: v2, depends_on: [database]}
        - {name: api,      version: v2, depends_on: [cache]}
        - {name: gateway,  version: v2, depends_on: [api]}
      strategy: rolling
      rollback_policy: auto
      """;

  @Test
  @InjectMojo(goal = "release-set", pom = POM)
  void releaseSetTakesThePomAndItsDefaults(ReleaseSetMojo mojo) {
    assertThat(mojo.repository).isEqualTo("target/repo");
    assertThat(mojo.descriptor.getPath()).endsWith("shop.yaml");
    assertThat(mojo.setName).isEqualTo("shop");
    assertThat(mojo.setVersion).isEqualTo("2026.1");
    assertThat(mojo.setExpiryDays).isEqualTo(1826);
  }

  @Test
  @InjectMojo(goal = "plan", pom = POM)
  void planTakesThePomAndItsDefaults(PlanMojo mojo) {
    assertThat(mojo.inventory.getPath()).endsWith("fleet");
    assertThat(mojo.nodeTime).isEqualTo("90s");
    assertThat(mojo.channel).isEqualTo("stable");
    assertThat(mojo.json).isFalse();
    assertThat(mojo.failOnProblems).isFalse();
  }

  @Test
  @InjectMojo(goal = "release-set", pom = POM)
  void releaseSetPublishesFromTheDescriptor(ReleaseSetMojo mojo) throws Exception {
    SetFixture fixture = new SetFixture(dir);
    fixture.releaseFour();
    Path descriptor = Files.writeString(dir.resolve("release-set.yaml"), FOUR);
    mojo.repository = fixture.repository.toString();
    mojo.descriptor = descriptor.toFile();
    mojo.keyFile = dir.resolve("keys/release.pem").toFile();
    mojo.outputTimestamp = "2026-11-22T00:00:00Z";
    mojo.basedir = dir.toFile();
    mojo.environment = Map.of();

    mojo.execute();

    assertThat(fixture.repository.resolve("sets/shop/2026.1.json")).exists();
    assertThat(Path.of(mojo.project.getBuild().getDirectory(), "upgrade", "release-set.json")).exists();
    mojo.descriptor = Files.writeString(dir.resolve("cyclic.yaml"), FOUR.replace("depends_on: []",
        "depends_on: [gateway]")).toFile();
    mojo.setVersion = "2026.2";
    assertThatThrownBy(mojo::execute).isInstanceOf(MojoFailureException.class).hasMessageStartingWith("SET_CYCLE: ");
    assertThat(fixture.repository.resolve("sets/shop/2026.2.json")).doesNotExist();
  }

  @Test
  @InjectMojo(goal = "plan", pom = POM)
  void planPrintsJsonForToolsAndFailsOnProblemsOnlyWhenAsked(PlanMojo mojo) throws Exception {
    SetFixture fixture = new SetFixture(dir);
    fixture.releaseFour();
    List<InventorySnapshot.Entry> entries = new ArrayList<>();
    for (String app : List.of("database", "cache", "api")) { // no gateway node: a problem
      for (int i = 0; i < 3; i++) {
        entries.add(new InventorySnapshot.Entry(new Heartbeat(app + "-" + i, app, "stable", "v1", Map.of(), "IDLE",
            true, null, null, 30, java.time.Instant.now()), java.time.Instant.now()));
      }
    }
    Path inventory = dir.resolve("srv.json");
    Files.write(inventory, ApiBody.INVENTORY.write(new InventorySnapshot("inventory", "srv", 1, java.time.Instant.now(),
        entries)));
    mojo.repository = fixture.repository.toString();
    mojo.descriptor = Files.writeString(dir.resolve("release-set.yaml"), FOUR).toFile();
    mojo.inventory = inventory.toFile();
    mojo.basedir = dir.toFile();
    mojo.json = true;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    mojo.out = new PrintStream(printed, true, StandardCharsets.UTF_8);

    mojo.execute();

    String json = printed.toString(StandardCharsets.UTF_8).strip();
    io.upgradekit.plugin.plan.Preview preview = Json.read(json.getBytes(StandardCharsets.UTF_8),
        io.upgradekit.plugin.plan.Preview.class, "preview");
    assertThat(preview.kind()).isEqualTo("set");
    assertThat(preview.components()).hasSize(4);
    assertThat(preview.nodeSeconds()).isEqualTo(90);
    assertThat(preview.problems()).extracting(io.upgradekit.plugin.plan.Preview.Problem::component)
        .containsExactly("gateway");
    assertThat(Path.of(mojo.project.getBuild().getDirectory(), "upgrade", "plan.json")).hasContent(json);
    assertThat(fixture.repository.resolve("sets")).as("a preview publishes nothing").doesNotExist();

    mojo.failOnProblems = true;
    assertThatThrownBy(mojo::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageContaining("the preview found 1 problem(s)");
  }
}
