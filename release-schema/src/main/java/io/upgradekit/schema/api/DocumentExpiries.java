package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * {@code GET /v1/expiries}: the signed documents that nodes depend on now, with when each expires:
 * the trust root, every channel pointer, the release manifest each pointer names, and the rollout
 * state of each live rollout. A document that expired, or expires within the server's {@code
 * --expiry-warning}, carries a warning with the fix (a rollout state: when it was not re-signed in
 * time). The same warnings are in {@code GET /v1/status} ({@link FleetStatus#expiring()}) and on the
 * dashboard. Operator or viewer credentials. Schema {@code document-expiries.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param checkedAt when the server last read the documents (it re-reads them at most every 30 s,
 *     and at once after writing one)
 * @param warnBeforeSeconds the server's {@code --expiry-warning}
 * @param documents the documents, the soonest expiry first, at most {@value #MAX_DOCUMENTS}
 * @param omitted documents beyond those listed
 */
public record DocumentExpiries(Instant generatedAt, Instant checkedAt, long warnBeforeSeconds,
    List<Document> documents, int omitted) {
  /** Documents listed at most (and exported as metrics). */
  public static final int MAX_DOCUMENTS = 1000;

  /** The kinds of document. */
  public static final Set<String> KINDS = Set.of("root", "channel", "release", "rollout");

  public DocumentExpiries {
    Wire.required(generatedAt, "generatedAt");
    Wire.required(checkedAt, "checkedAt");
    Wire.nonNegative(warnBeforeSeconds, "warnBeforeSeconds");
    documents = List.copyOf(Wire.required(documents, "documents"));
    if (documents.size() > MAX_DOCUMENTS) {
      throw Wire.malformed("at most " + MAX_DOCUMENTS + " documents");
    }
    Wire.nonNegative(omitted, "omitted");
  }

  /**
   * One signed document.
   *
   * @param kind {@code root}, {@code channel} (a channel pointer), {@code release} (a release
   *     manifest a channel names) or {@code rollout} (a live rollout's signed state)
   * @param app the app, or null (absent) for the trust root
   * @param channel the channel, for a pointer; else null (absent)
   * @param version the release, for a manifest or a rollout state; else null (absent)
   * @param path the document's path in the repository
   * @param expires when nodes stop accepting it
   * @param warning what needs doing, when it expired or expires soon; else null (absent)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Document(String kind, String app, String channel, String version, String path, Instant expires,
      String warning) {
    public Document {
      if (!KINDS.contains(Wire.required(kind, "kind"))) {
        throw Wire.malformed("kind must be one of " + KINDS);
      }
      if (app != null) {
        Names.requireApp(app);
      }
      if (channel != null) {
        Names.requireChannel(channel);
      }
      if (version != null) {
        Names.requireVersion(version);
      }
      Wire.repositoryPath(path, "path");
      Wire.required(expires, "expires");
      Wire.text(warning, "warning", 1000);
    }
  }
}
