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

  /** A history record larger than this is damaged (real ones are a few kilobytes). */
  static final long MAX_RECORD_BYTES = 256 * 1024;

  /** At most this many bytes of history are read per call, newest first. */
  static final long HISTORY_READ_BUDGET = 8L * 1024 * 1024;

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
    // Newest first within a byte budget, so that a history filled with huge (hostile or damaged)
    // records costs bounded memory and time; real records are a few kilobytes.
    List<JournalRecord> newestFirst = new ArrayList<>();
    List<Path> files = historyFiles();
    long budget = HISTORY_READ_BUDGET;
    for (int i = files.size() - 1; i >= 0; i--) {
      Path file = files.get(i);
      try {
        long size = Files.size(file);
        if (size > MAX_RECORD_BYTES) {
          notes.accept("skipped history entry " + file.getFileName() + ": " + size + " bytes, larger than any "
              + "record (" + MAX_RECORD_BYTES + ")");
          continue;
        }
        if (size > budget) {
          notes.accept("older history not shown: " + (i + 1) + " entries beyond the " + HISTORY_READ_BUDGET
              + "-byte read budget");
          break;
        }
        budget -= size;
        readRecord(file).ifPresent(newestFirst::add);
      } catch (StateFiles.DamagedStateException e) {
        notes.accept("skipped damaged history entry " + file.getFileName() + ": " + e.reason());
      } catch (IOException e) {
        notes.accept("skipped unreadable history entry " + file.getFileName() + ": " + e.getMessage());
      }
    }
    java.util.Collections.reverse(newestFirst);
    return newestFirst;
  }

  public Path activeFile() {
    return active;
  }

  /** The newest {@link #MAX_HISTORY} history files, oldest first (bounded however many there are). */
  private List<Path> historyFiles() {
    return historyFiles(new ArrayList<>());
  }

  /**
   * The newest {@link #MAX_HISTORY} history files, oldest first; the names of older ones go to
   * {@code older}. Memory stays bounded by {@link #MAX_HISTORY} names plus {@code older}.
   */
  private List<Path> historyFiles(List<Path> older) {
    if (!Files.isDirectory(historyDir)) {
      return new ArrayList<>();
    }
    java.util.PriorityQueue<Path> newest = new java.util.PriorityQueue<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(historyDir, "*.json")) {
      for (Path file : dir) {
        newest.add(file);
        if (newest.size() > MAX_HISTORY) {
          Path oldest = newest.poll();
          if (older.size() < MAX_HISTORY) {
            older.add(oldest); // pruned a batch at a time
          }
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot list " + historyDir + ": " + e, e);
    }
    List<Path> files = new ArrayList<>(newest);
    files.sort(null);
    return files;
  }

  private void prune() throws IOException {
    List<Path> older = new ArrayList<>();
    historyFiles(older);
    for (Path file : older) {
      io.upgradekit.schema.io.FileTrees.deleteQuietly(file); // a directory in a file's place too
    }
  }

  private static Optional<JournalRecord> readRecord(Path file) {
    return Optional.ofNullable(StateFiles.read(file, JournalRecord.class, "journal record"));
  }

}
