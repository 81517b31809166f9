package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.Quarantine;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.journal.StateFiles.DamagedStateException;
import io.upgradekit.updater.process.ServiceController;
import io.upgradekit.updater.process.ServiceRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Damaged state never stops the updater. The file system ({@code current}, {@code versions/}) is
 * the truth; everything under {@code state/} is memory that can be rebuilt or done without. At the
 * start of every run, under the lock, {@link #check} looks at the state files the run is about to
 * trust; a file that exists but cannot be used (truncated, garbage, wrong types or values, empty,
 * a directory in its place, unreadable) is moved to {@code state/damaged/} ({@link Quarantine},
 * bounded) and what it held is rebuilt:
 *
 * <ul>
 *   <li>{@code journal.json}: the event it described is lost, so the target is treated as "maybe
 *       interrupted": staging leftovers are deleted and exactly the version {@code current} names
 *       runs (other versions' processes stopped, it started if it was not running).
 *   <li>{@code node.json}: rebuilt from history and the file system: the previous version (the
 *       newest event that switched to the installed one, else the newest other version on disk),
 *       the releases that failed here (rolled back, crash loops, manual rollbacks), the last trusted
 *       pointer sequence (from the cached, once verified, channel pointer). Crash counts and
 *       remembered bad deltas start again (each costs at most one more attempt).
 *   <li>{@code service.json}: rebuilt from the running processes ({@link ServiceController#rebuild}).
 *   <li>{@code self-previous} (read by {@code bin/updater}): moved aside when it does not hold a
 *       version name.
 *   <li>a state directory ({@code history/}, {@code outbox/}, {@code releases/}, {@code trust/},
 *       {@code cache/}) or {@code staging/} with a file in its place: moved aside.
 * </ul>
 *
 * <p>Files read later in a run are handled where they are read: damaged history entries are
 * skipped with a note, damaged outbox entries are moved aside, and after a refusal in RESOLVE the
 * cached trust material and the installed version's kept manifest are checked by {@link
 * #dropCachedMetadata} and the resolution retried once.
 */
final class StateRecovery {
  /** What was found and done, for the log, history and the STATE_RECOVERED report. */
  record Findings(List<String> notes, boolean journalLost) {
    boolean isEmpty() {
      return notes.isEmpty();
    }

    String summary() {
      return String.join("; ", notes);
    }
  }

  private final Parts parts;
  private final UpdaterConfig config;
  private final Home home;
  private final Journal journal;
  private final ServiceController service;
  private final Quarantine quarantine;

  StateRecovery(Parts parts) {
    this.parts = parts;
    this.config = parts.config();
    this.home = parts.home();
    this.journal = parts.journal();
    this.service = parts.service();
    this.quarantine = new Quarantine(home.state());
  }

  /** Checks, and records what it found and did as a {@code recovery} event (see {@link #record}). */
  void checkAndRecord() {
    Findings damaged = check();
    if (!damaged.isEmpty()) {
      record(damaged);
    }
  }

  /**
   * Records what {@link #check} found as an event of its own (kind {@code recovery}, outcome
   * RECOVERED, code STATE_RECOVERED): a warning, an entry in history, and a report. When the
   * journal itself was lost, the event it described may have been interrupted anywhere: staging
   * leftovers are deleted and exactly the version {@code current} names is left running.
   */
  private void record(Findings damaged) {
    List<String> notes = new ArrayList<>(damaged.notes());
    String current = home.currentVersion().orElse(null);
    if (damaged.journalLost()) {
      parts.stager().cleanStaging();
      notes.add(runOnly(current));
    }
    String summary = String.join("; ", notes);
    EventRun run = EventRun.start(parts, EventKind.RECOVERY, current, current);
    parts.events().warn(ErrorCode.STATE_RECOVERED + ": " + summary);
    run.stepNote(summary, ErrorCode.STATE_RECOVERED);
    run.end(Outcome.RECOVERED, ErrorCode.STATE_RECOVERED, "damaged state was moved to state/" + Quarantine.DIRECTORY
        + "/ and rebuilt from the file system: " + summary);
  }

  /** Leaves exactly {@code current}'s version running (or nothing, without a current version). */
  private String runOnly(String current) {
    if (config.service().strategy() == UpdaterConfig.Strategy.SELF) {
      return "this updater is the target: the version current names runs";
    }
    try {
      if (current == null) {
        if (config.service().process() != null) {
          service.stopAll();
        }
        return "no version is installed; no service process is left running";
      }
      if (config.service().process() != null) {
        service.stopAllBut(current);
      }
      if (!service.isRunning()) {
        service.start(current);
        return "started " + current + ", the version current names";
      }
      return current + " (the version current names) runs";
    } catch (UpgradeException e) {
      return "could not make sure that " + current + " runs alone: " + e.getMessage();
    }
  }

  /** Checks, moves aside and rebuilds; see the class comment. */
  Findings check() {
    List<String> notes = new ArrayList<>();
    for (Path dir : List.of(home.history(), home.outbox(), home.releases(), home.trust(), home.cache(),
        home.staging())) {
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        notes.add(home.root().relativize(dir) + " is not a directory: " + aside(dir));
      }
    }

    boolean journalLost = false;
    try {
      journal.active().ifPresent(rec -> requireUsable(rec, journal.activeFile()));
    } catch (DamagedStateException e) {
      journalLost = true;
      notes.add("journal.json " + e.reason() + ": " + aside(e.file()) + "; the event it described is treated as "
          + "interrupted");
    }

    try {
      NodeState.read(home.nodeFile());
    } catch (DamagedStateException e) {
      String moved = aside(e.file());
      NodeState rebuilt = rebuildNodeState(notes);
      rebuilt.write(home.nodeFile());
      notes.add("node.json " + e.reason() + ": " + moved + "; rebuilt (previous " + rebuilt.previous()
          + ", bad releases " + rebuilt.badReleases() + ", pointer sequence " + rebuilt.lastPointerSequence() + ")");
    }

    try {
      service.record();
    } catch (DamagedStateException e) {
      String moved = aside(e.file());
      ServiceRecord rebuilt = service.rebuild();
      notes.add("service.json " + e.reason() + ": " + moved + "; " + (rebuilt == null
          ? "no process of this target is running; the next start uses the configuration"
          : "rebuilt from the running processes " + rebuilt.processes().stream()
              .map(p -> p.pid() + " (" + p.version() + ")").toList()));
    }

    Path selfPrevious = home.state().resolve("self-previous");
    String selfProblem = selfPreviousProblem(selfPrevious);
    if (selfProblem != null) {
      notes.add("self-previous " + selfProblem + ": " + aside(selfPrevious));
    }
    return new Findings(List.copyOf(notes), journalLost);
  }

  /**
   * After a refusal in RESOLVE: the damage may be in this node's copies rather than in the
   * repository. Drops the caches (the channel pointer and trust roots, re-fetched and re-verified
   * from the pinned root) and moves the installed version's kept manifest aside if it does not
   * parse (RESOLVE then takes the full package and relies on the pointer sequence).
   *
   * @return what was dropped; empty when there was nothing to drop (a retry would not help)
   */
  List<String> dropCachedMetadata(String installed) {
    List<String> notes = new ArrayList<>();
    Path pointer = home.trust().resolve("channel.json");
    if (Files.exists(pointer, LinkOption.NOFOLLOW_LINKS)) {
      FileTrees.deleteQuietly(pointer);
      notes.add("dropped the cached channel pointer");
    }
    Path roots = home.trust().resolve("roots");
    if (Files.exists(roots, LinkOption.NOFOLLOW_LINKS)) {
      FileTrees.deleteQuietly(roots);
      notes.add("dropped the cached trust roots");
    }
    if (installed != null) {
      Path kept = home.releases().resolve(installed + ".json");
      try {
        byte[] bytes = StateFiles.readBytes(kept, "release manifest");
        if (bytes != null) {
          ReleaseManifest m = Json.read(Envelopes.parse(bytes, DocumentType.RELEASE).payloadBytes(),
              ReleaseManifest.class, "release");
          if (!m.version().equals(installed)) {
            throw new DamagedStateException(kept, "release manifest", "it is the manifest of " + m.version(), null);
          }
        }
      } catch (UpgradeException e) {
        String reason = e instanceof DamagedStateException d ? d.reason() : e.getMessage();
        notes.add("releases/" + installed + ".json " + reason + ": " + aside(kept) + "; the full package is used "
            + "instead of a delta");
      }
    }
    return notes;
  }

  /**
   * The journal record a crash left must describe something reconcile can act on: known states,
   * kinds, outcomes (checked when it is read: they are typed) and codes, version names. A record
   * from a newer updater (after a self-downgrade) with names this one does not know counts as
   * damaged too.
   */
  private static void requireUsable(JournalRecord rec, Path file) {
    String problem = null;
    try {
      if (rec.errorCode() != null) {
        ErrorCode.valueOf(rec.errorCode());
      }
    } catch (IllegalArgumentException e) {
      problem = "names a code this updater does not know (" + e.getMessage() + ")";
    }
    for (String v : new String[] {rec.fromVersion(), rec.toVersion()}) {
      if (problem == null && v != null && !Names.isVersion(v)) {
        problem = "version " + Names.quote(v) + " is no version name";
      }
    }
    if (problem == null && (rec.startedAt() == null || !Names.isEventId(rec.eventId()))) {
      problem = "no start time or no valid event id";
    }
    if (problem != null) {
      throw new DamagedStateException(file, "journal record", problem, null);
    }
  }

  private static String selfPreviousProblem(Path file) {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      return "is not a regular file";
    }
    try {
      if (Files.size(file) > 128) {
        return "is larger than a version name";
      }
      String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
      return text.isEmpty() || Names.isVersion(text) ? null : "does not hold a version name";
    } catch (IOException e) {
      return "is unreadable (" + e.getMessage() + ")";
    }
  }

  /** Rebuilds node state from history and the file system; see the class comment. */
  private NodeState rebuildNodeState(List<String> notes) {
    String current = home.currentVersion().orElse(null);
    List<String> onDisk = home.versionsOnDisk();
    List<JournalRecord> history = journal.history(notes::add);
    String previous = null;
    Set<String> bad = new LinkedHashSet<>();
    for (JournalRecord e : history) {
      boolean rolledBack = e.outcome() == Outcome.ROLLED_BACK;
      boolean update = e.kind() == EventKind.UPDATE;
      if (update && (rolledBack || ErrorCode.CRASH_LOOP.name().equals(e.errorCode()))) {
        bad.add(e.toVersion());
      } else if (e.kind().switchesBack() && rolledBack) {
        bad.add(e.fromVersion());
      }
      boolean switchedToCurrent = (update && e.outcome() == Outcome.COMMITTED) || (!update && rolledBack);
      if (switchedToCurrent && current != null && current.equals(e.toVersion()) && e.fromVersion() != null
          && onDisk.contains(e.fromVersion())) {
        previous = e.fromVersion(); // the newest such event wins
      }
    }
    bad.remove(null);
    bad.remove(current);
    if (previous == null) {
      previous = onDisk.stream().filter(v -> !v.equals(current))
          .max((a, b) -> modified(home.version(a)).compareTo(modified(home.version(b)))).orElse(null);
    }
    return new NodeState(previous, cachedPointerSequence(), null, new ArrayList<>(bad), null, null);
  }

  /** The sequence of the cached channel pointer (verified when it was cached), or 0. */
  private long cachedPointerSequence() {
    try {
      byte[] bytes = StateFiles.readBytes(home.trust().resolve("channel.json"), "channel pointer");
      if (bytes == null) {
        return 0;
      }
      ChannelPointer p = Json.read(Envelopes.parse(bytes, DocumentType.CHANNEL).payloadBytes(), ChannelPointer.class,
          "channel");
      return Objects.equals(p.app(), config.app()) && Objects.equals(p.channel(), config.channel()) ? p.sequence() : 0;
    } catch (UpgradeException e) {
      return 0;
    }
  }

  private static Instant modified(Path p) {
    try {
      return Files.getLastModifiedTime(p).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }

  private String aside(Path file) {
    Path moved = quarantine.moveAside(file);
    return moved == null ? "deleted (it could not be moved aside)" : "moved to " + home.root().relativize(moved);
  }
}
