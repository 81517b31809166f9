package io.upgradekit.schema.api;

/**
 * The answer to {@code POST /v1/feedback}. Schema {@code feedback-result.schema.json}.
 *
 * @param stored true if the report was stored now (201), false if the same (event id, sequence)
 *     was stored before (200)
 * @param path where the report is in the repository
 */
public record FeedbackResult(boolean stored, String path) {
  public FeedbackResult {
    Wire.repositoryPath(path, "path");
  }
}
