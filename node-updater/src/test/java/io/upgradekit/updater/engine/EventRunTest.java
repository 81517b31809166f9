package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.IllegalTransitionException;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.FakeApplier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one place that moves an event between states: it refuses what {@link UpdateState}'s table
 * does not allow before journaling anything, and keeps the notes written meanwhile in the record
 * and in the report.
 */
class EventRunTest {
  @TempDir
  Path tmp;

  private final List<AgentEvent> events = new ArrayList<>();
  private Parts parts;

  @BeforeEach
  void target() throws Exception {
    Path config = tmp.resolve("updater.yaml");
    // No server is needed: nothing here resolves or delivers.
    Files.writeString(config, "repository:\n  url: http://127.0.0.1:9/\n  trustRoot: root.json\napp: demo\n"
        + "channel: stable\nhome: " + tmp.resolve("home") + "\nnode:\n  id: node-1\nservice:\n  strategy: self\n");
    parts = Parts.of(ConfigLoader.load(config), new FakeApplier(),
        Clock.fixed(Instant.parse("2026-03-01T10:00:00Z"), ZoneOffset.UTC), Sleeper.SYSTEM, events::add);
  }

  @Test
  void anIllegalTransitionIsRefusedBeforeItIsJournaledOrEmitted() {
    EventRun run = EventRun.start(parts, EventKind.UPDATE, "1.0.0", null);
    run.enter(UpdateState.RESOLVE);
    int emitted = events.size();

    // Skipping DOWNLOAD, STAGE, GATE and STOP would switch an unverified version.
    assertThatThrownBy(() -> run.enter(UpdateState.SWITCH)).isInstanceOfSatisfying(IllegalTransitionException.class,
        e -> {
          assertThat(e.from()).isEqualTo(UpdateState.RESOLVE);
          assertThat(e.to()).isEqualTo(UpdateState.SWITCH);
        });

    assertThat(run.state()).isEqualTo(UpdateState.RESOLVE);
    assertThat(parts.journal().active()).get().extracting(JournalRecord::state).isEqualTo(UpdateState.RESOLVE);
    assertThat(events).hasSize(emitted);
  }

  @Test
  void aResumedEventIsCheckedFromTheStateItsJournalNames() {
    EventRun first = EventRun.start(parts, EventKind.UPDATE, "1.0.0", null);
    for (UpdateState s : List.of(UpdateState.RESOLVE, UpdateState.DOWNLOAD, UpdateState.STAGE, UpdateState.GATE,
        UpdateState.STOP, UpdateState.SWITCH)) {
      first.enter(s);
    }
    EventRun resumed = EventRun.resume(parts, parts.journal().active().orElseThrow());

    assertThatThrownBy(() -> resumed.enter(UpdateState.COMMIT)).isInstanceOf(IllegalTransitionException.class);
    resumed.failNext(new UpgradeException(ErrorCode.INTERRUPTED, "crashed"));
    resumed.enter(UpdateState.ROLLBACK);
    assertThat(parts.journal().active().orElseThrow().state()).isEqualTo(UpdateState.ROLLBACK);
  }

  @Test
  void notesReachTheRecordHistoryAndTheReportBoundedAndCut() throws Exception {
    EventRun run = EventRun.start(parts, EventKind.UPDATE, "1.0.0", null);
    run.target("2.0.0", 2);
    run.enter(UpdateState.RESOLVE);
    run.enter(UpdateState.DOWNLOAD);
    run.enter(UpdateState.STAGE);
    run.enter(UpdateState.GATE);
    for (int i = 1; i <= 40; i++) {
      parts.events().info("waiting at the rollout gate (try " + i + ")");
    }
    parts.events().warn("regression seen, not acted on: " + "x".repeat(3000));
    run.end(Outcome.FAILED, ErrorCode.GATE_CLOSED, "the gate stayed closed");

    // Emitted whole, with the event and the state they were written in.
    List<AgentEvent.Note> notes = events.stream().filter(AgentEvent.Note.class::isInstance)
        .map(AgentEvent.Note.class::cast).toList();
    assertThat(notes).hasSize(41).allMatch(n -> n.eventId().equals(run.eventId()) && n.state() == UpdateState.GATE);
    assertThat(notes.get(40).message()).hasSize("regression seen, not acted on: ".length() + 3000);

    // In history: the first and the newest, the rest counted; each cut to a note's length.
    JournalRecord done = parts.journal().history().get(0);
    assertThat(done.notes()).hasSize(JournalRecord.MAX_NOTES);
    assertThat(done.notesOmitted()).isEqualTo(41 - JournalRecord.MAX_NOTES);
    assertThat(done.notes().get(0).message()).endsWith("(try 1)");
    assertThat(done.notes().get(JournalRecord.FIRST_NOTES_KEPT - 1).message())
        .endsWith("(try " + JournalRecord.FIRST_NOTES_KEPT + ")");
    assertThat(done.notes().get(JournalRecord.FIRST_NOTES_KEPT).message()).endsWith("(try " + (41
        - JournalRecord.MAX_NOTES + JournalRecord.FIRST_NOTES_KEPT + 1) + ")");
    EventNote last = done.notes().get(JournalRecord.MAX_NOTES - 1);
    assertThat(last.level()).isEqualTo("WARNING");
    assertThat(last.state()).isEqualTo("GATE");
    assertThat(last.message()).startsWith("regression seen, not acted on").hasSize(EventNote.MAX_MESSAGE_LENGTH);

    // In the report, which the server's strict reader accepts: the same notes and one line for the gap.
    Path queued;
    try (var files = Files.list(parts.home().outbox())) {
      queued = files.findFirst().orElseThrow();
    }
    Feedback report = Json.read(Files.readAllBytes(queued), io.upgradekit.schema.model.DocumentType.FEEDBACK,
        Feedback.class);
    assertThat(report.notes()).hasSize(Feedback.MAX_NOTES).isEqualTo(done.notesShown());
    assertThat(report.notes().get(JournalRecord.FIRST_NOTES_KEPT).message())
        .startsWith((41 - JournalRecord.MAX_NOTES) + " more notes were written here");
  }

  @Test
  void notesOutsideAnEventAreEmittedButKeptNowhere() {
    parts.events().info("report 1 not delivered");
    assertThat(events).singleElement().isInstanceOfSatisfying(AgentEvent.Note.class, n -> {
      assertThat(n.eventId()).isNull();
      assertThat(n.state()).isNull();
    });
    assertThat(parts.journal().active()).isEmpty();
  }
}
