package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.server.core.FeedbackService;
import io.upgradekit.server.core.FleetIndex;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet index is rebuilt at start from the stored reports, which the server reads as hostile:
 * bounded, one at a time, skipping what does not belong.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FeedbackRebuildTest {
  @TempDir Path root;

  @Test
  void storedReportsAreReadBoundedAndWhatDoesNotBelongIsSkipped() throws Exception {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    byte[] report = FeedbackApiTest.report("node-1", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", t);
    Path valid = root.resolve("feedback/demo/node-1/ev-1/0.json");
    Files.createDirectories(valid.getParent());
    Files.write(valid, report);
    Files.write(valid.resolveSibling("1.json"), report); // its content says sequence 0
    try (RandomAccessFile huge = new RandomAccessFile(valid.resolveSibling("2.json").toFile(), "rw")) {
      huge.setLength(3L << 30); // 3 GiB of holes: more than any byte[] can hold
    }
    Files.write(valid.resolveSibling(".0.json.0123456789abcdef.tmp"), report); // a crash's leftover

    FleetIndex index = new FleetIndex();
    List<String> warnings = new ArrayList<>();
    int read = FeedbackService.rebuild(root, index, warnings::add);

    assertThat(read).isEqualTo(1);
    assertThat(index.bytesOf("node-1")).isEqualTo(report.length);
    assertThat(warnings).hasSize(2)
        .anySatisfy(w -> assertThat(w).contains("1.json").contains("belongs at"))
        .anySatisfy(w -> assertThat(w).contains("2.json").contains("more than"));
  }
}
