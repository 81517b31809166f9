package io.upgradekit.schema.delta;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.delta.DeltaApplier.ApplyRequest;
import io.upgradekit.schema.delta.DeltaBuilder.DiffRequest;
import io.upgradekit.schema.delta.DeltaBuilder.DiffResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real consecutive releases (../shared/corpus): every pair must round-trip bit for bit, and its
 * delta must stay within the size target (1.1 times the per-file bsdiff reference). The
 * corpus is fetched when missing; a missing corpus fails the test rather than skipping it.
 */
class CorpusRoundTripTest {
  private static Path corpus;

  @TempDir Path tmp;

  @BeforeAll
  static void fetch() throws IOException, InterruptedException {
    String env = System.getenv("UPGRADE_CORPUS");
    corpus = env != null && !env.isBlank() ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "upgradekit-corpus");
    List<String> files = List.of("maven-tgz/old.tar.gz", "maven-tgz/new.tar.gz", "maven-zip/old.zip",
        "maven-zip/new.zip", "jetty-tgz/old.tar.gz", "jetty-tgz/new.tar.gz", "guava-jar/old.jar", "guava-jar/new.jar");
    if (files.stream().allMatch(f -> Files.isRegularFile(corpus.resolve(f)))) {
      return;
    }
    // The module runs in <repo>/release-schema; CI and developers have the corpus script at ../shared.
    Path script = Path.of("").toAbsolutePath().getParent().resolve("../shared/corpus/fetch.sh").normalize();
    assertThat(script).as("the corpus script (../shared/corpus/fetch.sh from the repository root)").isRegularFile();
    Path log = Files.createTempFile("corpus-fetch", ".log");
    Process p = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
    boolean finished = p.waitFor(15, TimeUnit.MINUTES);
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertThat(finished && p.exitValue() == 0).as("fetching the corpus failed:\n" + output).isTrue();
    // fetch.sh fills the same cache ($UPGRADE_CORPUS or ~/.cache/upgradekit-corpus). Its output is
    // not parsed: Maven may leave terminal escape codes on the line that names the cache.
    for (String f : files) {
      assertThat(corpus.resolve(f)).as("corpus file after fetching").isRegularFile();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // pair, extension, size bound in bytes (1.1 x the reference)
      "guava-jar, jar,    9052",
      "maven-tgz, tar.gz, 99810",
      "maven-zip, zip,    101317",
      "jetty-tgz, tar.gz, 371151"})
  void roundTripsBitForBitWithinTheSizeTarget(String pair, String ext, long bound) throws IOException {
    Path old = corpus.resolve(pair).resolve("old." + ext);
    Path neu = corpus.resolve(pair).resolve("new." + ext);
    Path delta = tmp.resolve(pair + ".delta");
    DiffResult diff = DeltaBuilder.diff(DiffRequest.of(old, neu, delta).withScratch(tmp));
    Path out = tmp.resolve("out");
    DeltaApplier.apply(ApplyRequest.of(old, delta, out));

    try (Payload expected = PayloadReader.read(neu, PayloadReader.Options.defaults().withScratch(tmp));
        Payload actual = PayloadReader.read(out)) {
      if (expected.isSingleFile()) {
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(neu));
      } else {
        assertThat(actual.tree().entries()).isEqualTo(expected.tree().entries());
      }
    }
    assertThat(diff.deltaSize()).as(pair + " delta size").isLessThanOrEqualTo(bound);
  }
}
