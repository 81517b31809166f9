package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory mode's pointer swap against real publishing JVMs: one killed with SIGKILL after its
 * claim, one paused past its lease, and several racing.
 */
class PointerSwapProcessTest {
  @TempDir Path root;
  final List<Process> children = new ArrayList<>();

  @AfterEach
  void killChildren() {
    children.forEach(Process::destroyForcibly);
  }

  Process start(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m", "-cp", System.getProperty("java.class.path"),
        PublisherProcess.class.getName()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    children.add(process);
    return process;
  }

  static BufferedReader lines(Process process) {
    return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  Path pointer() {
    return root.resolve(RepositoryLayout.channelPointer("demo", "stable"));
  }

  Repository.Stored head() throws IOException {
    return new DirectoryRepository(root).read(RepositoryLayout.channelPointer("demo", "stable"), 64 * 1024);
  }

  byte[] text(long sequence, String who) {
    return PublisherProcess.pointerText(sequence, who).getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aPublisherKilledAfterItsClaimDoesNotBlockTheNext() throws Exception {
    Files.createDirectories(pointer().getParent());
    Files.write(pointer(), text(1, "first"));
    Process child = start("claim", root.toString(), "2", "" + Duration.ofHours(1).toMillis());
    assertThat(lines(child).readLine()).isEqualTo("claimed");
    child.destroyForcibly(); // kill -9, between claim and pointer
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();

    Repository.Stored head = head();
    boolean swapped = new DirectoryRepository(root).replacePointer("demo", "stable", head, 1, text(2, "next"), 2);

    assertThat(swapped).as("the dead publisher's hour-long claim did not hold the next one").isTrue();
    assertThat(pointer()).hasContent(PublisherProcess.pointerText(2, "next"));
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aPausedPublisherPastItsLeaseIsFencedAndWritesNothing() throws Exception {
    Files.createDirectories(pointer().getParent());
    Files.write(pointer(), text(1, "first"));
    Process child = start("claim", root.toString(), "2", "1000");
    BufferedReader out = lines(child);
    assertThat(out.readLine()).isEqualTo("claimed");

    List<String> waited = new ArrayList<>();
    DirectoryRepository next = new DirectoryRepository(root, io.upgradekit.schema.io.PointerSwap.DEFAULT_LEASE, Duration.ofSeconds(30),
        Clock.systemUTC(), waited::add);
    assertThat(next.replacePointer("demo", "stable", head(), 1, text(2, "next"), 2)).isTrue();
    // It waited for the live child's lease, unless that had already run out (a slow machine).
    assertThat(waited).allSatisfy(line -> assertThat(line).contains("claimed by pid " + child.pid()));

    try (Writer resume = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
      resume.write("go\n");
    }
    assertThat(out.readLine()).as("the late write is fenced off").isEqualTo("SUPERSEDED");
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(pointer()).hasContent(PublisherProcess.pointerText(2, "next"));
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void racingPublishersNeverPublishTwoPointersForOneSequence() throws Exception {
    int publishers = 4;
    int rounds = 15;
    List<Process> racers = new ArrayList<>();
    for (int i = 0; i < publishers; i++) {
      racers.add(start("race", root.toString(), "p" + i, "" + rounds));
    }
    List<Long> wins = new ArrayList<>();
    for (Process racer : racers) {
      BufferedReader out = lines(racer);
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith("won ")) {
          wins.add(Long.parseLong(line.substring(4)));
        }
      }
      assertThat(racer.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(racer.exitValue()).isZero();
    }

    assertThat(wins).hasSize(publishers * rounds).doesNotHaveDuplicates();
    assertThat(PublisherProcess.sequenceOf(Files.readAllBytes(pointer()))).isEqualTo((long) publishers * rounds);
  }
}
