package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The updater with the real delta engine: full package on first install, then a delta. */
@Timeout(120)
class DeltaEngineApplierTest {
  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stop() {
    if (target != null) {
      target.close();
    }
  }

  private static Path tree(Path dir, Map<String, byte[]> files) throws Exception {
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Path f = dir.resolve(e.getKey());
      Files.createDirectories(f.getParent());
      Files.write(f, e.getValue());
    }
    return dir;
  }

  @Test
  void fullPackageThenDeltaWithTheRealEngine() throws Exception {
    target = new TestTarget(tmp.resolve("t"), "restart", null);
    Path v1 = tree(tmp.resolve("src/1"), TestTarget.files("1.0.0", "healthy=true\n"));
    Path v2 = tree(tmp.resolve("src/2"), TestTarget.files("2.0.0", "healthy=true\n"));
    Path pkg1 = tmp.resolve("pkg1");
    Path pkg2 = tmp.resolve("pkg2");
    Path d12 = tmp.resolve("d12");
    var r1 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v1, pkg1));
    DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v2, pkg2));
    var r12 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(v1, v2, d12));

    TestRepo.Release rel1 = target.repo.publishBuilt("1.0.0", 1, r1.target(), Files.readAllBytes(pkg1), Map.of());
    target.repo.point("stable", rel1);
    UpdateEngine engine = new UpdateEngine(target.config(), new DeltaEngineApplier(2), Clock.systemUTC(),
        TestTarget.notes(System.out::println));
    UpdateEngine.Result first = engine.runOnce(false);
    assertThat(first.outcome()).as(first.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");

    TestRepo.Release rel2 = target.repo.publishBuilt("2.0.0", 2, r12.target(), Files.readAllBytes(pkg2),
        Map.of("1.0.0", Files.readAllBytes(d12)));
    target.repo.point("stable", rel2);
    target.server.blobPaths.clear();
    UpdateEngine.Result second = engine.runOnce(false);
    assertThat(second.outcome()).as(second.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.server.blobPaths).singleElement().asString()
        .endsWith(rel2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256());
    Trees.verify(target.homeDirs().version("2.0.0"), rel2.manifest().payload());
  }
}
