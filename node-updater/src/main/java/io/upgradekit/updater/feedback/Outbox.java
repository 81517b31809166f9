package io.upgradekit.updater.feedback;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.journal.Quarantine;
import io.upgradekit.updater.journal.StateFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The durable feedback outbox: one file per report ({@code <eventId>-<sequence>.json}), created
 * exclusively so a report is queued once, deleted only after the server accepted it. Every send
 * carries the report's idempotency key ({@code Idempotency-Key: <eventId>-<sequence>}); the server
 * stores a report once per key, so a resend after a lost answer is harmless.
 *
 * <p>Failed sends back off exponentially with jitter (capped), or as long as the server's {@code
 * Retry-After} says.
 */
public final class Outbox {
  /** Reports sent per delivery round at most; a longer queue drains over several rounds. */
  public static final int MAX_PER_ROUND = 256;

  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(2);
  private static final Duration MAX_BACKOFF = Duration.ofMinutes(10);

  private final Path dir;
  private final Clock clock;
  private final Consumer<String> log;
  private int failures;
  private Instant notBefore = Instant.EPOCH;

  public Outbox(Path dir, Clock clock, Consumer<String> log) {
    this.dir = dir;
    this.clock = clock;
    this.log = log;
  }

  /** Queues a report durably; a report already queued (same key) is left as it is. */
  public void put(Feedback report) {
    StateFiles.create(dir.resolve(key(report) + ".json"), Json.canonicalBytes(report));
  }

  public static String key(Feedback report) {
    return report.eventId() + "-" + report.sequence();
  }

  /**
   * Reports not yet accepted, oldest first: at most {@link #MAX_PER_ROUND} of them, so that one
   * delivery round (each post has its own deadline) ends in bounded time and memory however many
   * reports piled up; the rest go in later rounds.
   */
  public List<Path> pending() {
    if (!Files.isDirectory(dir)) {
      return new ArrayList<>();
    }
    // Each file's time is read once: a comparator that read it while sorting would break its
    // contract when a report is delivered (deleted) by another updater meanwhile.
    record Entry(Path file, long modified) {}
    java.util.Comparator<Entry> newestFirst = java.util.Comparator.comparingLong(Entry::modified)
        .thenComparing(Entry::file).reversed();
    java.util.PriorityQueue<Entry> oldest = new java.util.PriorityQueue<>(newestFirst);
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : stream) {
        if (p.getFileName().toString().startsWith(".")) {
          continue;
        }
        long modified;
        try {
          modified = Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
          continue; // gone meanwhile
        }
        oldest.add(new Entry(p, modified));
        if (oldest.size() > MAX_PER_ROUND) {
          oldest.poll(); // drops the newest
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot list " + dir + ": " + e, e);
    }
    List<Entry> entries = new ArrayList<>(oldest);
    entries.sort(newestFirst.reversed());
    List<Path> files = new ArrayList<>(entries.size());
    entries.forEach(e -> files.add(e.file()));
    return files;
  }

  /** How many reports wait in the outbox (all of them, not only the next round's). */
  public long count() {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    long n = 0;
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : stream) {
        if (!p.getFileName().toString().startsWith(".")) {
          n++;
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot list " + dir + ": " + e, e);
    }
    return n;
  }

  /** When the next delivery attempt may start (after a failure's backoff). */
  public Instant notBefore() {
    return notBefore;
  }

  /**
   * Sends pending reports in order until one fails; honours the backoff unless {@code force}.
   *
   * @return the number of reports accepted
   */
  public int deliver(RepositoryClient client, URI url, String node, String authorization, boolean force) {
    if (url == null || (!force && clock.instant().isBefore(notBefore))) {
      return 0;
    }
    int accepted = 0;
    for (Path file : pending()) {
      byte[] body;
      Feedback report;
      try {
        body = StateFiles.readBytes(file, "report");
        if (body == null) {
          continue; // delivered and deleted by another updater meanwhile
        }
        report = Json.read(body, DocumentType.FEEDBACK, Feedback.class);
      } catch (UpgradeException e) {
        // Damaged on disk: the server would refuse it for ever and block every report behind it.
        Path aside = new Quarantine(dir.getParent()).moveAside(file);
        log.accept("moved the damaged report " + file.getFileName() + " out of the outbox ("
            + (aside == null ? "deleted: it could not be moved" : "kept as " + aside) + "): " + e.getMessage());
        continue;
      }
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put("Idempotency-Key", key(report));
      headers.put("X-Upgradekit-Node", node);
      if (authorization != null) {
        headers.put("Authorization", authorization);
      }
      try {
        RepositoryClient.Fetched answer = client.post(url, body, headers);
        int status = answer.status();
        if (status / 100 == 2 || status == 409) {
          deleteQuietly(file);
          accepted++;
          failures = 0;
          notBefore = Instant.EPOCH;
          continue;
        }
        backoff(null);
        log.accept("the server refused report " + key(report) + " with HTTP " + status
            + (status == 401 || status == 403 ? ": check node.credential" : "")
            + answer.error().map(e -> " (" + e.code() + ": " + e.message() + ")").orElse("")
            + "; it stays in the outbox");
        return accepted;
      } catch (HttpFailure e) {
        backoff(e.retryAfter());
        log.accept("report " + key(report) + " not delivered (" + e.getMessage() + "); retrying after "
            + notBefore);
        return accepted;
      }
    }
    return accepted;
  }

  private void backoff(Duration retryAfter) {
    failures++;
    Duration wait;
    if (retryAfter != null) {
      wait = retryAfter;
    } else {
      long base = Math.min(MAX_BACKOFF.toMillis(), FIRST_BACKOFF.toMillis() << Math.min(failures - 1, 20));
      wait = Duration.ofMillis(base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1));
    }
    notBefore = clock.instant().plus(wait);
  }

  private void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
      StateFiles.fsyncDirectory(dir);
    } catch (IOException | UpgradeException e) {
      log.accept("cannot delete " + file + ": " + e.getMessage());
    }
  }
}
