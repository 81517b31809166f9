package io.upgradekit.updater.download;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class BodyReaderTest {
  private static BodyReader.Bounds bounds(long minRate, Duration window, long deadlineNanos) {
    return new BodyReader.Bounds(Duration.ofSeconds(20), minRate, window, deadlineNanos, "the test's deadline");
  }

  @Test
  void aBodyWithinItsBoundsIsReadToItsEnd() throws Exception {
    try (SubmissionPublisher<List<ByteBuffer>> body = new SubmissionPublisher<>()) {
      BodyReader reader = BodyReader.subscribe(body);
      body.submit(List.of(ByteBuffer.allocate(1000), ByteBuffer.allocate(24)));
      body.close();
      AtomicLong read = new AtomicLong();
      reader.drain(bounds(1, Duration.ofSeconds(20), System.nanoTime() + Duration.ofSeconds(20).toNanos()),
          chunk -> {
            read.addAndGet(chunk.remaining());
            chunk.position(chunk.limit());
          });
      assertThat(read).hasValue(1024);
    }
  }

  @Test
  void aPassedDeadlineEndsTheTransferWhateverItsRate() {
    try (SubmissionPublisher<List<ByteBuffer>> body = new SubmissionPublisher<>()) {
      BodyReader reader = BodyReader.subscribe(body);
      body.submit(List.of(ByteBuffer.allocate(1 << 20)));
      assertThatThrownBy(() -> reader.drain(bounds(0, Duration.ofSeconds(20), System.nanoTime() - 1), chunk -> { }))
          .isInstanceOf(BodyReader.TooSlow.class).hasMessageContaining("total deadline of the test's deadline");
    }
  }

  @Test
  void aBodySlowerThanTheMinimumRateOverAWindowIsTooSlowBeforeItStalls() {
    try (SubmissionPublisher<List<ByteBuffer>> body = new SubmissionPublisher<>()) {
      BodyReader reader = BodyReader.subscribe(body);
      body.submit(List.of(ByteBuffer.allocate(10))); // then nothing, but the stall timeout is 20 s
      assertThatThrownBy(() -> reader.drain(bounds(1 << 20, Duration.ofMillis(50),
          System.nanoTime() + Duration.ofSeconds(20).toNanos()), chunk -> chunk.position(chunk.limit())))
          .isInstanceOf(BodyReader.TooSlow.class).hasMessageContaining("slower than the minimum of 1048576 bytes/s");
    }
  }

  @Test
  void aFailedWriteForLackOfSpaceIsADiskFull(@TempDir Path tmp) {
    Path part = tmp.resolve("x.part");
    assertThat(RepositoryClient.isDiskFull(new IOException("No space left on device"), part)).isTrue();
    assertThat(RepositoryClient.isDiskFull(new IOException("Disk quota exceeded"), part)).isTrue();
    assertThat(RepositoryClient.isDiskFull(new IOException("wrapped", new IOException("No space left on device")),
        part)).isTrue();
    assertThat(RepositoryClient.isDiskFull(new IOException("Input/output error"), part)).isFalse();
  }
}
