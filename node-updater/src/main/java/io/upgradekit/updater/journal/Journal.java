package io.upgradekit.updater.journal;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The durable journal: the active event in one file, finished events in a bounded history.
 * Every write is atomic and fsynced; a crash leaves either the old or the new record.
 */
public final class Journal {
  /** Finished events kept in history; older ones are deleted. */
  public static final int MAX_HISTORY = 500;

  private final Path active;
  private final Path historyDir;

  public Journal(Path active, Path historyDir) {
    this.active = active;
    this.historyDir = historyDir;
  }

  /**
   * The unfinished event, if an earlier run left one.
   *
   * @throws StateFiles.DamagedStateException when the file cannot be used (the engine moves it aside)
   */
  public Optional<JournalRecord> active() {
    return readRecord(active);
  }

  /** Records the event's new state durably; returns once it is on disk. */
  public void write(JournalRecord record) {
    StateFiles.write(active, Json.canonicalBytes(record));
  }

  /** Moves a finished event to history (history first, so a crash in between loses nothing). */
  public void finish(JournalRecord record) {
    try {
      String name = String.format("%020d-%s.json", record.startedAt().toEpochMilli(), record.eventId());
      StateFiles.write(historyDir.resolve(name), Json.canonicalBytes(record));
      Files.deleteIfExists(active);
      StateFiles.fsyncDirectory(active.getParent());
      prune();
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot move event " + record.eventId() + " to history: " + e, e);
    }
  }

  /** Drops the active record without history (for polls that found nothing to do). */
  public void discard() {
    try {
      if (Files.deleteIfExists(active)) {
        StateFiles.fsyncDirectory(active.getParent());
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot delete " + active + ": " + e, e);
    }
  }

  /** Finished events, oldest first; damaged entries are skipped. */
  public List<JournalRecord> history() {
    return history(note -> { });
  }

  /**
   * Finished events, oldest first. A damaged entry is skipped with a note (history is a record
   * of the past: nothing is decided from one lost entry, and the next events are written as usual).
   */
  public List<JournalRecord> history(java.util.function.Consumer<String> notes) {
    List<JournalRecord> out = new ArrayList<>();
    for (Path file : historyFiles()) {
      try {
        readRecord(file).ifPresent(out::add);
      } catch (StateFiles.DamagedStateException e) {
        notes.accept("skipped damaged history entry " + file.getFileName() + ": " + e.reason());
      }
    }
    return out;
  }

  /** The active record's file. */
  public Path activeFile() {
    return active;
  }

  private List<Path> historyFiles() {
    List<Path> files = new ArrayList<>();
    if (!Files.isDirectory(historyDir)) {
      return files;
    }
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(historyDir, "*.json")) {
      dir.forEach(files::add);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot list " + historyDir + ": " + e, e);
    }
    files.sort(null);
    return files;
  }

  private void prune() throws IOException {
    List<Path> files = historyFiles();
    for (int i = 0; i < files.size() - MAX_HISTORY; i++) {
      io.upgradekit.schema.io.FileTrees.deleteQuietly(files.get(i)); // a directory in a file's place too
    }
  }

  private static Optional<JournalRecord> readRecord(Path file) {
    return Optional.ofNullable(StateFiles.read(file, JournalRecord.class, "journal record"));
  }

}
