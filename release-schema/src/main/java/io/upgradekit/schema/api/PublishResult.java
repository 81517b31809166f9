package io.upgradekit.schema.api;

/**
 * The answer to a publication of a blob, a release manifest or a channel pointer ({@code PUT
 * /v1/blobs/...}, {@code /v1/apps/<app>/releases/...}, {@code /v1/apps/<app>/channels/...}).
 * Schema {@code publish-result.schema.json}.
 *
 * @param created true if stored now (201), false if the same bytes were there (200), or for a
 *     pointer that replaced an earlier one (200)
 * @param path where the document is in the repository
 * @param etag the stored document's ETag (its quoted SHA-256), as the {@code ETag} header says
 */
public record PublishResult(boolean created, String path, String etag) {
  public PublishResult {
    Wire.repositoryPath(path, "path");
    Wire.text(Wire.required(etag, "etag"), "etag", 256);
  }
}
