package io.upgradekit.schema.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pointer-swap protocol in one process: claims left by dead, expired or released holders are
 * taken over at once, live ones are waited for (bounded, with who and until when), and a holder
 * that was taken over writes nothing. Real processes race it in the plugin's and repo-server's
 * tests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PointerSwapTest {
  @TempDir Path dir;
  Path pointer;
  final List<String> progress = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    pointer = dir.resolve("stable.json");
    Files.writeString(pointer, "head 1");
  }

  PointerSwap swap(Duration lease, Duration maxWait, Clock clock) {
    return new PointerSwap(pointer, 64 * 1024, lease, maxWait, clock, progress::add);
  }

  PointerSwap swap() {
    return swap(PointerSwap.DEFAULT_LEASE, Duration.ofSeconds(30), Clock.systemUTC());
  }

  static PointerSwap.Check expecting(String text) {
    return current -> current != null && new String(current, UTF_8).equals(text);
  }

  Path claim(long sequence, int attempt) {
    return dir.resolve(".stable.sequence").resolve(attempt == 1 ? "" + sequence : sequence + "." + attempt);
  }

  void writeClaim(long sequence, int attempt, PointerSwap.Holder holder, Instant expires) throws Exception {
    Files.createDirectories(claim(sequence, attempt).getParent());
    Files.write(claim(sequence, attempt), Json.canonicalBytes(new PointerSwap.SequenceClaim(PointerSwap.CLAIM_TYPE,
        sequence, attempt, holder, expires.minusSeconds(15), expires, "head 1", false)));
  }

  @Test
  void aFreeSequenceIsClaimedAndSwapped() throws Exception {
    assertThat(swap().swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isEqualTo(PointerSwap.Outcome.SWAPPED);

    assertThat(pointer).hasContent("head 2");
    PointerSwap.SequenceClaim written = Json.read(Files.readAllBytes(claim(2, 1)), PointerSwap.SequenceClaim.class,
        "claim");
    assertThat(written.holder().pid()).isEqualTo(ProcessHandle.current().pid());
    assertThat(written.expires()).isAfter(written.claimedAt());
    assertThat(swap().swap(2, "head 2b".getBytes(UTF_8), "h1", expecting("head 1")))
        .as("the sequence's head moved on").isEqualTo(PointerSwap.Outcome.CHANGED);
    assertThat(pointer).hasContent("head 2");
  }

  @Test
  void aClaimOfAProcessThatIsGoneIsTakenOverAtOnce() throws Exception {
    Process exited = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-version").redirectErrorStream(true).start();
    exited.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
    assertThat(exited.waitFor(30, TimeUnit.SECONDS)).isTrue();
    PointerSwap.Holder me = PointerSwap.Holder.current();
    PointerSwap.Holder gone = new PointerSwap.Holder(exited.pid(), me.host(), me.boot(), me.started(), me.user());
    writeClaim(2, 1, gone, Instant.now().plus(Duration.ofDays(1)));

    assertThat(swap().swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isEqualTo(PointerSwap.Outcome.SWAPPED);
    assertThat(pointer).hasContent("head 2");
    assertThat(claim(2, 2)).exists();
  }

  @Test
  void aLiveHolderIsWaitedForBoundedWithWhoAndUntilWhen() throws Exception {
    Instant expires = Instant.now().plus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    writeClaim(2, 1, PointerSwap.Holder.current(), expires);

    assertThatThrownBy(() -> swap(PointerSwap.DEFAULT_LEASE, Duration.ofMillis(200), Clock.systemUTC())
        .swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isInstanceOf(UpgradeException.class)
        .hasMessageContaining("pid " + ProcessHandle.current().pid())
        .hasMessageContaining(expires.toString())
        .hasMessageContaining(claim(2, 1).toString())
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.IO_ERROR));
    assertThat(progress).singleElement().asString().contains("claimed by pid " + ProcessHandle.current().pid())
        .contains(expires.toString());
    assertThat(pointer).hasContent("head 1");
  }

  @Test
  void anExpiredLeaseIsTakenOverEvenIfItsHolderLives() throws Exception {
    writeClaim(2, 1, PointerSwap.Holder.current(), Instant.now().minusSeconds(1));

    assertThat(swap().swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isEqualTo(PointerSwap.Outcome.SWAPPED);
  }

  @Test
  void aClaimFromAnEarlierPluginExpiresByItsAge() throws Exception {
    Files.createDirectories(claim(2, 1).getParent());
    Files.writeString(claim(2, 1), "{\"payload\":\"the pointer itself\"}");
    Files.setLastModifiedTime(claim(2, 1), FileTime.from(Instant.now().minus(Duration.ofMinutes(5))));

    assertThat(swap().swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isEqualTo(PointerSwap.Outcome.SWAPPED);

    Files.writeString(claim(3, 1), "fresh, holder unknown");
    assertThatThrownBy(() -> swap(PointerSwap.DEFAULT_LEASE, Duration.ofMillis(200), Clock.systemUTC())
        .swap(3, "head 3".getBytes(UTF_8), "h2", expecting("head 2")))
        .hasMessageContaining("unknown process");
  }

  @Test
  void aHolderTakenOverAfterItsLeaseWritesNothing() throws Exception {
    // The slow publisher's clock says its claim was taken an hour ago: its lease has run out.
    Clock anHourAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(1)), ZoneOffset.UTC);
    PointerSwap slow = swap(Duration.ofSeconds(5), Duration.ofSeconds(30), anHourAgo);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    Optional<PointerSwap.Held> held = slow.claim(2, "h1", expecting("head 1"), deadline);
    assertThat(held).isPresent();

    assertThat(swap().swap(2, "head 2 by the next".getBytes(UTF_8), "h1", expecting("head 1")))
        .isEqualTo(PointerSwap.Outcome.SWAPPED);
    PointerSwap.Outcome late = held.get().write("head 2 by the slow".getBytes(UTF_8), expecting("head 1"), deadline);

    assertThat(late).isEqualTo(PointerSwap.Outcome.SUPERSEDED);
    assertThat(pointer).hasContent("head 2 by the next");
  }

  @Test
  void aHolderThatGivesUpReleasesItsClaim() throws Exception {
    PointerSwap first = swap(Duration.ofDays(1), Duration.ofSeconds(30), Clock.systemUTC());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    PointerSwap.Held held = first.claim(2, "h1", expecting("head 1"), deadline).orElseThrow();
    assertThat(held.write("x".getBytes(UTF_8), current -> false, deadline)).isEqualTo(PointerSwap.Outcome.CHANGED);

    assertThat(swap(PointerSwap.DEFAULT_LEASE, Duration.ofMillis(500), Clock.systemUTC())
        .swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .as("no wait for a day-long lease").isEqualTo(PointerSwap.Outcome.SWAPPED);
    assertThat(claim(2, 2)).exists();
    assertThat(claim(2, 3)).exists();
  }

  @Test
  void aRefusalByTheCheckReleasesTheClaimToo() throws Exception {
    PointerSwap.Check refuse = current -> {
      throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "no");
    };
    PointerSwap first = swap(Duration.ofDays(1), Duration.ofSeconds(30), Clock.systemUTC());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    PointerSwap.Held held = first.claim(2, "h1", expecting("head 1"), deadline).orElseThrow();
    assertThatThrownBy(() -> held.write("x".getBytes(UTF_8), refuse, deadline)).hasMessage("no");

    assertThat(swap(PointerSwap.DEFAULT_LEASE, Duration.ofMillis(500), Clock.systemUTC())
        .swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1"))).isEqualTo(PointerSwap.Outcome.SWAPPED);
  }

  @Test
  void aFirstDocumentCreatedMeanwhileWithoutTheLockIsNeverReplaced() throws Exception {
    Files.delete(pointer);
    // The check runs under the lock; a creator that takes no lock (create-if-absent) gets in just then.
    PointerSwap.Check absentThenCreated = current -> {
      if (current == null) {
        DurableFiles.createExclusively(pointer, "created meanwhile".getBytes(UTF_8));
      }
      return current == null;
    };
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    PointerSwap.Held held = swap().claim(1, "none", current -> current == null, deadline).orElseThrow();

    assertThat(held.write("first".getBytes(UTF_8), absentThenCreated, deadline)).isEqualTo(PointerSwap.Outcome.CHANGED);
    assertThat(pointer).hasContent("created meanwhile");
  }

  @Test
  void anOversizedDocumentIsRefusedUnread() throws Exception {
    byte[] big = new byte[64 * 1024 + 1];
    Arrays.fill(big, (byte) 'x');
    Files.write(pointer, big);

    assertThatThrownBy(() -> swap().swap(2, "head 2".getBytes(UTF_8), "h1", expecting("head 1")))
        .isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.METADATA_TOO_LARGE));
  }
}
