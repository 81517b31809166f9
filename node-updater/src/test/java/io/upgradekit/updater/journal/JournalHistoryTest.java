package io.upgradekit.updater.journal;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** History is read bounded: the newest entries only, each record capped, the whole within a budget. */
class JournalHistoryTest {
  @TempDir Path tmp;

  private Journal journal() {
    return new Journal(tmp.resolve("journal.json"), tmp.resolve("history"));
  }

  private static JournalRecord record(long millis, String message) {
    Instant at = Instant.ofEpochMilli(millis);
    return new JournalRecord("e" + millis, "app", "node-1", EventKind.UPDATE, "1.0.0", "2.0.0", 2, UpdateState.END, at,
        Outcome.COMMITTED, List.of(), null, message, Map.of(), List.of(), 0, at, at);
  }

  private void writeHistory(long millis, String message) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("history"));
    Files.write(dir.resolve(String.format("%020d-e%d.json", millis, millis)),
        Json.canonicalBytes(record(millis, message)));
  }

  @Test
  void aValidButHugeRecordIsSkippedWithANote() throws Exception {
    writeHistory(1, "ok");
    writeHistory(2, "x".repeat(900 * 1024)); // valid JSON under the state-file cap, far beyond any real record
    writeHistory(3, "ok");
    List<String> notes = new ArrayList<>();

    List<JournalRecord> history = journal().history(notes::add);

    assertThat(history).extracting(JournalRecord::eventId).containsExactly("e1", "e3");
    assertThat(notes).singleElement().asString().contains("larger than any record");
  }

  @Test
  void readingStopsAtTheBudgetKeepingTheNewest() throws Exception {
    String big = "y".repeat(200 * 1024);
    for (long i = 1; i <= 60; i++) { // 60 x 200 KiB: beyond the 8 MiB budget
      writeHistory(i, big);
    }
    List<String> notes = new ArrayList<>();

    List<JournalRecord> history = journal().history(notes::add);

    assertThat(history.size()).isBetween(30, 41);
    assertThat(history.get(history.size() - 1).eventId()).isEqualTo("e60");
    assertThat(history).extracting(r -> Long.parseLong(r.eventId().substring(1))).isSorted();
    assertThat(notes).anyMatch(n -> n.contains("older history not shown"));
  }

  @Test
  void onlyTheNewestEntriesAreListedAndFinishingPrunesTheRest() throws Exception {
    for (long i = 1; i <= Journal.MAX_HISTORY + 200; i++) {
      writeHistory(i, null);
    }
    Journal journal = journal();

    List<JournalRecord> history = journal.history();
    assertThat(history).hasSize(Journal.MAX_HISTORY);
    assertThat(history.get(0).eventId()).isEqualTo("e201");

    journal.finish(record(Journal.MAX_HISTORY + 201, null));
    try (var files = Files.list(tmp.resolve("history"))) {
      assertThat(files.count()).isEqualTo(Journal.MAX_HISTORY);
    }
  }
}
