package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Consumer;

/**
 * Node feedback: validated, checked against the authenticated node, stored durably (created
 * exclusively at {@code feedback/<app>/<node>/<eventId>/<sequence>.json}) before the caller
 * answers, once per (event id, sequence): a resent report finds its file and is not stored again.
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

  private final Path root;
  private final FleetIndex index;
  private final long quotaBytesPerNode;

  public FeedbackService(Path root, FleetIndex index, long quotaBytesPerNode) {
    this.root = root;
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
    Path target = RepositoryLayout.resolve(root, relative);
    if (Files.exists(target)) {
      return new Result(false, report, relative);
    }
    long used = index.bytesOf(report.node());
    if (used + body.length > quotaBytesPerNode) {
      throw new UpgradeException(ErrorCode.QUOTA_EXCEEDED, "node " + report.node() + " has " + used
          + " bytes of feedback stored; this report would pass its quota of " + quotaBytesPerNode
          + " bytes (an operator can archive old reports under feedback/, or raise --feedback-quota)");
    }
    DurableFiles.createDirectories(target.getParent());
    if (!DurableFiles.createExclusively(target, body)) {
      return new Result(false, report, relative);
    }
    index.add(report, body.length);
    return new Result(true, report, relative);
  }

  /**
   * Reads every stored report into the index (at start). Unreadable files are reported and
   * skipped; temp and dot files are ignored.
   *
   * @return the number of reports read
   */
  public static int rebuild(Path root, FleetIndex index, Consumer<String> warn) throws IOException {
    Path feedback = root.resolve("feedback");
    if (!Files.isDirectory(feedback)) {
      return 0;
    }
    int[] count = {0};
    Files.walkFileTree(feedback, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        return dir.getFileName().toString().startsWith(".") ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        String name = file.getFileName().toString();
        if (name.startsWith(".") || !name.endsWith(".json") || !attrs.isRegularFile()) {
          return FileVisitResult.CONTINUE;
        }
        try {
          byte[] bytes = Files.readAllBytes(file);
          Feedback report = Json.read(bytes, DocumentType.FEEDBACK, Feedback.class);
          String expected = RepositoryLayout.feedback(report.app(), report.node(), report.eventId(), report.sequence());
          if (!root.resolve(expected).normalize().equals(file.normalize())) {
            warn.accept("skipped " + file + ": its content belongs at " + expected);
          } else {
            index.add(report, bytes.length);
            count[0]++;
          }
        } catch (IOException | UpgradeException e) {
          warn.accept("skipped " + file + ": " + e.getMessage());
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return count[0];
  }
}
