package io.upgradekit.schema.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {
  @TempDir Path dir;

  @Test
  void writeAtomicallyCreatesTheFile() throws IOException {
    Path target = dir.resolve("channel.json");

    DurableFiles.writeAtomically(target, bytes("v1"));

    assertThat(target).hasContent("v1");
    assertThat(listing()).containsExactly("channel.json");
  }

  @Test
  void writeAtomicallyReplacesTheFile() throws IOException {
    Path target = dir.resolve("channel.json");
    Files.writeString(target, "a much longer old content");

    DurableFiles.writeAtomically(target, bytes("new"));

    assertThat(target).hasContent("new");
    assertThat(listing()).containsExactly("channel.json");
  }

  @Test
  void streamingWriterContentArrivesWhole() throws IOException {
    Path target = dir.resolve("blob");
    byte[] large = new byte[300_000]; // several buffers, written in odd-sized pieces and bytes
    new Random(7).nextBytes(large);

    DurableFiles.writeAtomically(
        target,
        out -> {
          out.write(large[0]);
          out.write(large, 1, 99_999);
          out.write(large, 100_000, 70_000); // larger than the buffer: written through
          for (int i = 170_000; i < large.length; i += 1000) {
            out.write(large, i, Math.min(1000, large.length - i));
          }
          out.close(); // closing early is allowed
        });

    assertThat(Files.readAllBytes(target)).isEqualTo(large);
    assertThat(listing()).containsExactly("blob");
  }

  @Test
  void streamUsedAfterCloseFailsAndLeavesTargetUntouched() throws IOException {
    Path target = dir.resolve("state.json");
    Files.writeString(target, "old");

    assertThatThrownBy(
            () ->
                DurableFiles.writeAtomically(
                    target,
                    out -> {
                      out.close();
                      out.write(1);
                    }))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("stream closed");
    assertThat(target).hasContent("old");
    assertThat(listing()).containsExactly("state.json");
  }

  @Test
  void tempFileIsAHiddenFileBesideTheTarget() throws IOException {
    Path target = dir.resolve("rollout.json");
    List<String> seenWhileWriting = new ArrayList<>();

    DurableFiles.writeAtomically(
        target,
        out -> {
          out.write(bytes("x"));
          seenWhileWriting.addAll(listing());
        });

    assertThat(seenWhileWriting).singleElement().satisfies(name -> {
      assertThat(name).matches("\\.rollout\\.json\\.[0-9a-f]{16}\\.tmp");
      assertThat(DurableFiles.isTempFile(dir.resolve(name))).isTrue();
    });
  }

  @Test
  void tempFileNameStaysShortForLongTargetNames() throws IOException {
    Path target = dir.resolve("n".repeat(250));
    List<String> seenWhileWriting = new ArrayList<>();

    DurableFiles.writeAtomically(target, out -> seenWhileWriting.addAll(listing()));

    assertThat(seenWhileWriting).singleElement().satisfies(name -> {
      assertThat(name.length()).isLessThan(100);
      assertThat(DurableFiles.isTempFile(Path.of(name))).isTrue();
    });
    assertThat(target).exists();
  }

  @Test
  void writerIoFailureLeavesTargetUntouchedAndNoTempFile() throws IOException {
    Path target = dir.resolve("channel.json");
    Files.writeString(target, "old");
    IOException failure = new IOException("disk on fire");

    assertThatThrownBy(
            () ->
                DurableFiles.writeAtomically(
                    target,
                    out -> {
                      out.write(new byte[200_000]); // some of it reached the temp file
                      throw failure;
                    }))
        .isSameAs(failure);
    assertThat(target).hasContent("old");
    assertThat(listing()).containsExactly("channel.json");
  }

  @Test
  void writerUncheckedFailureLeavesTargetAbsentAndNoTempFile() {
    Path target = dir.resolve("channel.json");
    RuntimeException failure = new IllegalStateException("bug");

    assertThatThrownBy(
            () ->
                DurableFiles.writeAtomically(
                    target,
                    out -> {
                      out.write(bytes("partial"));
                      throw failure;
                    }))
        .isSameAs(failure);
    assertThat(target).doesNotExist();
    assertThat(listing()).isEmpty();
  }

  @Test
  void failedRenameLeavesNoTempFile() throws IOException {
    Path target = dir.resolve("taken");
    Files.createDirectory(target);
    Files.writeString(target.resolve("inside"), "keep");

    // rename(2) cannot replace a non-empty directory with a file
    assertThatThrownBy(() -> DurableFiles.writeAtomically(target, bytes("x")))
        .isInstanceOf(IOException.class);
    assertThat(target.resolve("inside")).hasContent("keep");
    assertThat(listing()).containsExactly("taken");
  }

  @Test
  void missingParentDirectoryIsReportedAndNothingIsCreated() {
    Path target = dir.resolve("missing/channel.json");

    assertThatThrownBy(() -> DurableFiles.writeAtomically(target, bytes("x")))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> DurableFiles.createExclusively(target, bytes("x")))
        .isInstanceOf(NoSuchFileException.class);
    assertThat(listing()).isEmpty();
  }

  @Test
  void createExclusivelyCreatesWhenAbsent() throws IOException {
    Path claim = dir.resolve("slot-0.json");

    assertThat(DurableFiles.createExclusively(claim, bytes("node-a"))).isTrue();

    assertThat(claim).hasContent("node-a");
    assertThat(listing()).containsExactly("slot-0.json");
  }

  @Test
  void createExclusivelyNeverOverwrites() throws IOException {
    Path claim = dir.resolve("slot-0.json");
    assertThat(DurableFiles.createExclusively(claim, bytes("node-a"))).isTrue();

    assertThat(DurableFiles.createExclusively(claim, bytes("node-b"))).isFalse();
    assertThat(DurableFiles.createExclusively(claim, bytes("node-a"))).isFalse();

    assertThat(claim).hasContent("node-a");
    assertThat(listing()).containsExactly("slot-0.json");
  }

  @Test
  void createExclusivelyTreatsAnyExistingEntryAsTaken() throws IOException {
    Path directory = Files.createDirectory(dir.resolve("a-directory"));
    assertThat(DurableFiles.createExclusively(directory, bytes("x"))).isFalse();
    assertThat(directory).isEmptyDirectory();

    Path dangling = dir.resolve("dangling");
    try {
      Files.createSymbolicLink(dangling, dir.resolve("nowhere"));
    } catch (UnsupportedOperationException | FileSystemException e) {
      return; // no symlinks on this platform; the directory case above still ran
    }
    assertThat(DurableFiles.createExclusively(dangling, bytes("x"))).isFalse();
    assertThat(Files.isSymbolicLink(dangling)).isTrue();
    assertThat(dir.resolve("nowhere")).doesNotExist();
    assertThat(listing()).containsExactlyInAnyOrder("a-directory", "dangling");
  }

  @Test
  void concurrentCreatorsInOneProcessHaveExactlyOneWinner() throws Exception {
    Path claim = dir.resolve("slot-7.json");
    int contenders = 8;
    List<Thread> threads = new ArrayList<>();
    List<String> winners = Collections.synchronizedList(new ArrayList<>());
    CyclicBarrier start = new CyclicBarrier(contenders);
    for (int i = 0; i < contenders; i++) {
      String me = "thread-" + i;
      threads.add(new Thread(() -> {
        try {
          start.await();
          if (DurableFiles.createExclusively(claim, bytes(me))) {
            winners.add(me);
          }
        } catch (Exception e) {
          winners.add("failed: " + e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(10_000);
    }

    assertThat(winners).hasSize(1).allMatch(w -> w.startsWith("thread-"));
    assertThat(claim).hasContent(winners.get(0));
    assertThat(listing()).containsExactly("slot-7.json");
  }

  @Test
  void fsyncDirectoryAcceptsADirectoryAndReportsAMissingOne() throws IOException {
    DurableFiles.fsyncDirectory(dir);

    assertThatThrownBy(() -> DurableFiles.fsyncDirectory(dir.resolve("missing")))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void createDirectoriesCreatesEveryMissingParent() throws IOException {
    Path deep = dir.resolve("claims/app/1.0/wave-1");

    assertThat(DurableFiles.createDirectories(deep)).isEqualTo(deep);
    assertThat(deep).isDirectory();

    // again: nothing to do
    assertThat(DurableFiles.createDirectories(deep)).isEqualTo(deep);
    assertThat(DurableFiles.createDirectories(dir)).isEqualTo(dir);
  }

  @Test
  void createDirectoriesRefusesAFileInTheWay() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");

    assertThatThrownBy(() -> DurableFiles.createDirectories(file))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> DurableFiles.createDirectories(file.resolve("below")))
        .isInstanceOf(IOException.class);
    assertThat(file).hasContent("x");
  }

  @Test
  void createDirectoriesToleratesConcurrentCreators() throws Exception {
    Path deep = dir.resolve("a/b/c/d/e");
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 4; i++) {
      threads.add(new Thread(() -> {
        try {
          DurableFiles.createDirectories(deep);
        } catch (IOException | RuntimeException e) {
          failures.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(10_000);
    }

    assertThat(failures).isEmpty();
    assertThat(deep).isDirectory();
  }

  @Test
  void createDirectoriesToleratesALeafCreatedBetweenItsChecks() throws Exception {
    // The feedback case: many requests create the same new directory under an existing parent.
    int rounds = 200;
    int racers = 6;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(racers);
    try {
      for (int round = 0; round < rounds; round++) {
        Path leaf = dir.resolve("events/e" + round);
        java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Path>> results = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
          results.add(pool.submit(() -> {
            start.await();
            return DurableFiles.createDirectories(leaf);
          }));
        }
        start.countDown();
        for (java.util.concurrent.Future<Path> result : results) {
          assertThat(result.get()).isEqualTo(leaf);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void renameAtomicallyMovesAFileAndReplacesTheTarget() throws IOException {
    Path part = Files.writeString(dir.resolve("blob.part"), "complete");
    Path done = Files.writeString(dir.resolve("blob"), "stale");

    DurableFiles.renameAtomically(part, done);

    assertThat(done).hasContent("complete");
    assertThat(listing()).containsExactly("blob");
  }

  @Test
  void renameAtomicallyMovesADirectoryTreeIntoAnotherDirectory() throws IOException {
    Path staging = Files.createDirectories(dir.resolve("staging/2.0.0.tmp/lib"));
    Files.writeString(staging.resolve("app.jar"), "jar");
    Path versions = Files.createDirectory(dir.resolve("versions"));

    DurableFiles.renameAtomically(staging.getParent(), versions.resolve("2.0.0"));

    assertThat(versions.resolve("2.0.0/lib/app.jar")).hasContent("jar");
    assertThat(dir.resolve("staging")).isEmptyDirectory();
  }

  @Test
  void renameAtomicallyRenamesALinkItselfNotWhatItPointsAt() throws IOException {
    Path target = Files.writeString(dir.resolve("target"), "x");
    Path link = Files.createSymbolicLink(dir.resolve("link"), target.getFileName());

    DurableFiles.renameAtomically(link, dir.resolve("renamed"));

    assertThat(Files.readSymbolicLink(dir.resolve("renamed"))).isEqualTo(Path.of("target"));
    assertThat(target).hasContent("x");
    assertThat(listing()).containsExactly("renamed", "target");
  }

  @Test
  void renameAtomicallyNeverReplacesANonEmptyDirectory() throws IOException {
    Path source = Files.createDirectory(dir.resolve("new"));
    Path taken = Files.createDirectory(dir.resolve("taken"));
    Files.writeString(taken.resolve("inside"), "keep");

    assertThatThrownBy(() -> DurableFiles.renameAtomically(source, taken))
        .isInstanceOf(IOException.class);
    assertThat(taken.resolve("inside")).hasContent("keep");
    assertThat(source).isDirectory();
  }

  @Test
  void renameAtomicallyAcrossFileSystemsFailsAndMovesNothing() throws IOException {
    Path shm = Path.of("/dev/shm");
    assumeThat(Files.isDirectory(shm) && Files.isWritable(shm)).isTrue();
    assumeThat(Files.getFileStore(shm)).isNotEqualTo(Files.getFileStore(dir));
    Path source = Files.writeString(dir.resolve("state.json"), "x");
    Path elsewhere = shm.resolve("upgradekit-durablefiles-" + ProcessHandle.current().pid());

    try {
      assertThatThrownBy(() -> DurableFiles.renameAtomically(source, elsewhere))
          .isInstanceOf(io.upgradekit.schema.UpgradeException.class)
          .hasMessageContaining("atomically");
      assertThat(source).hasContent("x");
      assertThat(elsewhere).doesNotExist();
    } finally {
      Files.deleteIfExists(elsewhere);
    }
  }

  @Test
  void replaceSymbolicLinkCreatesThenSwitchesARelativeLink() throws IOException {
    Files.createDirectories(dir.resolve("versions/1.0.0"));
    Files.createDirectories(dir.resolve("versions/2.0.0"));
    Path current = dir.resolve("current");

    DurableFiles.replaceSymbolicLink(current, Path.of("versions", "1.0.0"));
    assertThat(Files.readSymbolicLink(current)).isEqualTo(Path.of("versions", "1.0.0"));

    DurableFiles.replaceSymbolicLink(current, Path.of("versions", "2.0.0"));
    assertThat(Files.readSymbolicLink(current)).isEqualTo(Path.of("versions", "2.0.0"));
    assertThat(listing()).containsExactly("current", "versions");
  }

  @Test
  void replaceSymbolicLinkReplacesAStaleTempLinkAndLeavesNoneOnFailure() throws IOException {
    Path current = dir.resolve("current");
    Files.createSymbolicLink(dir.resolve(".current.tmp"), Path.of("versions", "stale"));

    DurableFiles.replaceSymbolicLink(current, Path.of("versions", "1.0.0"));
    assertThat(Files.readSymbolicLink(current)).isEqualTo(Path.of("versions", "1.0.0"));
    assertThat(listing()).containsExactly("current");

    Path taken = Files.createDirectory(dir.resolve("taken"));
    Files.writeString(taken.resolve("inside"), "keep");
    assertThatThrownBy(() -> DurableFiles.replaceSymbolicLink(taken, Path.of("versions", "1.0.0")))
        .isInstanceOf(IOException.class);
    assertThat(listing()).containsExactly("current", "taken");
  }

  @Test
  void deleteStaleTempFilesRemovesOnlyOldTempFiles() throws IOException {
    FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
    Path staleTemp = touch(".channel.json.0123456789abcdef.tmp", old);
    Path freshTemp = touch(".channel.json.fedcba9876543210.tmp", FileTime.from(Instant.now()));
    Path oldDocument = touch("channel.json", old);
    Path oldSwitchLink = touch(".current.tmp", old); // the updater's, not ours: shape differs
    Path oldDotFile = touch(".hidden", old);
    Path oldTempDirectory = Files.createDirectory(dir.resolve(".x.0123456789abcdef.tmp"));
    Files.setLastModifiedTime(oldTempDirectory, old);

    int deleted = DurableFiles.deleteStaleTempFiles(dir, Duration.ofHours(1));

    assertThat(deleted).isEqualTo(1);
    assertThat(staleTemp).doesNotExist();
    assertThat(freshTemp).exists();
    assertThat(oldDocument).exists();
    assertThat(oldSwitchLink).exists();
    assertThat(oldDotFile).exists();
    assertThat(oldTempDirectory).isDirectory();
  }

  @Test
  void deleteStaleTempFilesChecksItsArguments() {
    assertThatThrownBy(() -> DurableFiles.deleteStaleTempFiles(dir, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> DurableFiles.deleteStaleTempFiles(dir.resolve("no"), Duration.ZERO))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void publishedFilesAreReadableByOthersUnderACommonUmask() throws IOException {
    assumeThat(dir.getFileSystem().supportedFileAttributeViews()).contains("posix");
    Path target = dir.resolve("release.json");

    DurableFiles.writeAtomically(target, bytes("x"));
    DurableFiles.createExclusively(dir.resolve("claim.json"), bytes("x"));

    // Files.createTempFile would have made these 0600, unreadable for a static server
    assertThat(Files.getPosixFilePermissions(target))
        .isEqualTo(Files.getPosixFilePermissions(Files.writeString(dir.resolve("plain"), "x")));
    assertThat(Files.getPosixFilePermissions(dir.resolve("claim.json")))
        .isEqualTo(Files.getPosixFilePermissions(dir.resolve("plain")));
  }

  private Path touch(String name, FileTime modified) throws IOException {
    Path file = Files.writeString(dir.resolve(name), "x");
    Files.setLastModifiedTime(file, modified);
    return file;
  }

  private List<String> listing() {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
