package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Round trips on real releases; run with {@code -Pcorpus}. Fetches the corpus if it is missing,
 * and fails (never skips) if it cannot.
 *
 * <p>The size bounds guard against regressions: they are C {@code bsdiff}'s sum over the same
 * changed files (measured with {@link CodecBenchmark}), which the codec beats by a third or more.
 */
@Tag("corpus")
class CorpusRoundTripTest {

  @Test
  void guavaJarAsOneFileRoundTripsWithEveryMethod() throws Exception {
    Path dir = CorpusPairs.corpusDir("guava-jar");
    byte[] old = Files.readAllBytes(CorpusPairs.side(dir, "old"));
    byte[] nu = Files.readAllBytes(CorpusPairs.side(dir, "new"));
    for (PatchMethod method : PatchMethod.values()) {
      EncodedPatch patch = FileCodec.encode(old, nu, EnumSet.of(method));
      assertThat(TestData.decode(method, old, patch.bytes(), nu.length)).as("%s", method).isEqualTo(nu);
    }
    // C bsdiff: 137,374 bytes.
    assertThat(FileCodec.encode(old, nu).size()).isLessThan(137_374);
  }

  @Test
  void guavaChangedEntries() throws Exception {
    // 69 files; C bsdiff: 18,099 bytes; ours 9,629.
    assertChangedFilesRoundTrip("guava-jar", 18_099);
  }

  @Test
  void mavenTgzChangedFiles() throws Exception {
    // 198 files; C bsdiff: 101,445 bytes; ours 65,295.
    assertChangedFilesRoundTrip("maven-tgz", 101_445);
  }

  @Test
  void jettyTgzChangedFiles() throws Exception {
    // 1,317 files; C bsdiff: 592,036 bytes; ours 351,433.
    assertChangedFilesRoundTrip("jetty-tgz", 592_036);
  }

  private static void assertChangedFilesRoundTrip(String pair, long bsdiffBytes)
      throws IOException, InterruptedException {
    List<CorpusPairs.Pair> changed = CorpusPairs.changedFiles(CorpusPairs.corpusDir(pair));
    assertThat(changed).isNotEmpty();
    long total = 0;
    for (CorpusPairs.Pair p : changed) {
      EncodedPatch patch = FileCodec.encode(p.oldBytes(), p.newBytes());
      assertThat(TestData.decode(patch.method(), p.oldBytes(), patch.bytes(), p.newBytes().length))
          .as(p.name())
          .isEqualTo(p.newBytes());
      total += patch.size();
    }
    assertThat(total).as("sum of %d patches", changed.size()).isLessThan(bsdiffBytes * 3 / 4);
  }
}
