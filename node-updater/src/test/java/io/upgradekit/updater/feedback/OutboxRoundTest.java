package io.upgradekit.updater.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A delivery round is bounded however many reports piled up, and takes the oldest first. */
class OutboxRoundTest {
  @TempDir Path tmp;

  @Test
  void aRoundTakesTheOldestReportsUpToItsBound() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("outbox"));
    int total = Outbox.MAX_PER_ROUND + 100;
    for (int i = 0; i < total; i++) {
      Path file = Files.writeString(dir.resolve(String.format("r%04d-1.json", i)), "{}");
      Files.setLastModifiedTime(file, FileTime.fromMillis(1_000_000L + 1000L * (total - i))); // r0000 newest
    }
    Outbox outbox = new Outbox(dir, Clock.systemUTC(), line -> { });

    List<Path> round = outbox.pending();

    assertThat(round).hasSize(Outbox.MAX_PER_ROUND);
    assertThat(round.get(0).getFileName()).hasToString(String.format("r%04d-1.json", total - 1));
    assertThat(round).noneMatch(p -> p.getFileName().toString().equals("r0000-1.json"));
    assertThat(outbox.count()).isEqualTo(total);
  }
}
