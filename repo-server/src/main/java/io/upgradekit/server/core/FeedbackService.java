package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Node feedback: validated, checked against the authenticated node, stored durably (created once,
 * {@link RepositoryStore#create}, at {@code feedback/<app>/<node>/<eventId>/<sequence>.json})
 * before the caller answers, once per (event id, sequence): a resent report finds its file and is not stored again.
 * The stored files are the history per node and, through each report's versions, per release.
 *
 * <p>Thread-safe.
 */
public final class FeedbackService {
  /**
   * What happened to a report.
   *
   * @param stored true if stored now; false if the same (event id, sequence) was stored before
   * @param report the validated report
   */
  public record Result(boolean stored, Feedback report, String path) {}

  private final RepositoryStore store;
  private final FleetIndex index;
  private final long quotaBytesPerNode;

  /** Feedback in the directory store at {@code root}. */
  public FeedbackService(Path root, FleetIndex index, long quotaBytesPerNode) {
    this(new DirectoryStore(root), index, quotaBytesPerNode);
  }

  public FeedbackService(RepositoryStore store, FleetIndex index, long quotaBytesPerNode) {
    this.store = store;
    this.index = index;
    this.quotaBytesPerNode = quotaBytesPerNode;
  }

  /**
   * Validates and stores a report sent by {@code caller}: a node reports only for itself.
   *
   * @throws UpgradeException METADATA_MALFORMED, METADATA_TOO_LARGE, NAME_INVALID, ACCESS_DENIED
   *     (the report is another node's), QUOTA_EXCEEDED
   */
  public Result store(Caller.Node caller, byte[] body) throws IOException {
    String authenticatedNode = caller.id();
    Feedback report = Json.read(body, DocumentType.FEEDBACK, Feedback.class);
    if (!report.node().equals(authenticatedNode)) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + authenticatedNode
          + " cannot report for node " + report.node() + "; each node reports with its own credential");
    }
    String relative = RepositoryLayout.feedback(report.app(), report.node(), report.eventId(), report.sequence());
    if (store.stat(relative).isPresent()) {
      return new Result(false, report, relative);
    }
    long used = index.bytesOf(report.node());
    if (used + body.length > quotaBytesPerNode) {
      throw new UpgradeException(ErrorCode.QUOTA_EXCEEDED, "node " + report.node() + " has " + used
          + " bytes of feedback stored; this report would pass its quota of " + quotaBytesPerNode
          + " bytes (an operator can archive old reports under feedback/, or raise --feedback-quota)");
    }
    if (!store.createOrRead(relative, body, DocumentType.FEEDBACK.maxBytes()).created()) {
      return new Result(false, report, relative);
    }
    index.add(report, body.length);
    return new Result(true, report, relative);
  }

  /**
   * Reads every stored report of the directory store at {@code root} into the index; see {@link
   * #rebuild(RepositoryStore, FleetIndex, Consumer)}.
   */
  public static int rebuild(Path root, FleetIndex index, Consumer<String> warn) throws IOException {
    return rebuild(new DirectoryStore(root), index, warn);
  }

  /**
   * Reads every stored report into the index (at start, and when the status is refreshed). The
   * reports are listed lazily and read one at a time, each bounded by the feedback size cap.
   * Unreadable reports, and reports whose content belongs at another path, are reported and
   * skipped.
   *
   * @return the number of reports read
   */
  public static int rebuild(RepositoryStore store, FleetIndex index, Consumer<String> warn) throws IOException {
    int count = 0;
    try (Stream<RepositoryStore.Entry> entries = store.list(RepositoryLayout.allFeedback())) {
      for (Iterator<RepositoryStore.Entry> it = entries.iterator(); it.hasNext(); ) {
        String path = it.next().path();
        if (!path.endsWith(".json")) {
          continue;
        }
        try {
          Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.FEEDBACK.maxBytes());
          if (stored.isEmpty()) {
            continue; // archived meanwhile
          }
          byte[] bytes = stored.get().bytes();
          Feedback report = Json.read(bytes, DocumentType.FEEDBACK, Feedback.class);
          String expected = RepositoryLayout.feedback(report.app(), report.node(), report.eventId(), report.sequence());
          if (!expected.equals(path)) {
            warn.accept("skipped " + path + ": its content belongs at " + expected);
          } else {
            index.add(report, bytes.length);
            count++;
          }
        } catch (IOException | UpgradeException e) {
          warn.accept("skipped " + path + ": " + e.getMessage());
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return count;
  }
}
