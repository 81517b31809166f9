package io.upgradekit.plugin.set;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Documents;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.Repository;
import io.upgradekit.plugin.release.RepositoryTrust;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Publishes a release set: checks everything first, then writes one document.
 *
 * <ol>
 *   <li>the set's rules (no cycle, no unknown or duplicate component, sizes, contracts the set can
 *       meet) and its expiry;
 *   <li>the repository's trust root and that the key is a release key;
 *   <li>every component's release is published (its manifest verifies with the trust root) and has a
 *       rollout plan, so that its nodes wait at GATE until the set lets its rollout start;
 *   <li>only then signs the set and creates {@code sets/<name>/<version>.json} exclusively. The same
 *       set again changes nothing; another set under a published version fails ({@code
 *       VERSION_EXISTS}): sets are immutable.
 * </ol>
 *
 * <p>A failed check writes nothing. Thread-safe.
 */
public final class SetPublisher {
  private final ReleaseBuilder.RepositoryFactory repositories;
  private final Clock clock;
  private final Consumer<Event> events;

  public SetPublisher(ReleaseBuilder.RepositoryFactory repositories, Clock clock, Consumer<Event> events) {
    this.repositories = Objects.requireNonNull(repositories, "repositories");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * Publishes the set and writes the summary file.
   *
   * @throws UpgradeException the set's rule codes, REFERENCE_MISSING (a component's release is not
   *     published), CONFIG_INVALID (a component without a rollout plan, an expired set), VERSION_EXISTS,
   *     the verification codes of what the repository holds, IO_ERROR
   */
  public SetResult publish(SetRequest request) {
    Instant created = request.created();
    ReleaseSet set = request.descriptor().toSet(request.name(), request.version(),
        Math.max(1, created.getEpochSecond()), created, created.plus(request.lifetime()));
    if (!set.expires().isAfter(clock.instant())) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "the release set would have expired at "
          + set.expires() + " (its timestamp " + created + " plus <setExpiryDays>): update"
          + " <project.build.outputTimestamp>, or raise <setExpiryDays>");
    }
    events.accept(Event.info("Release set " + set.name() + " " + set.version() + ": " + set.components().size()
        + " components, in order " + String.join(" -> ", set.graph().order())));
    try (Repository repository = repositories.open(request.repository(), request.token())) {
      TrustRoot root = RepositoryTrust.load(repository, clock);
      RepositoryTrust.requireReleaseKey(root, request.signingKey(), repository.location());
      MetadataVerifier verifier = new MetadataVerifier(root, clock);
      List<SetResult.Component> components = components(set, repository, verifier);
      byte[] envelope = Envelopes.sign(DocumentType.RELEASE_SET, set, List.of(request.signingKey()));
      String path = RepositoryLayout.releaseSet(set.name(), set.version());
      SetResult.Status status;
      byte[] stored;
      Repository.Stored existing = repository.read(path, DocumentType.RELEASE_SET.maxBytes());
      if (existing != null) {
        stored = requireSame(verifier, existing.bytes(), set, repository.location());
        status = SetResult.Status.UNCHANGED;
      } else {
        byte[] raced = repository.createReleaseSet(set.name(), set.version(), envelope);
        stored = raced == null ? envelope : requireSame(verifier, raced, set, repository.location());
        status = raced == null ? SetResult.Status.PUBLISHED : SetResult.Status.UNCHANGED;
      }
      events.accept(Event.info(status == SetResult.Status.PUBLISHED ? "Published " + path
          : "Already published, nothing changed: " + path));
      SetResult result = new SetResult(status, set.name(), set.version(), repository.location(), path,
          new BlobRef(Hashes.sha256(stored), stored.length), set.graph().order(), components);
      Files.createDirectories(request.summaryFile().toAbsolutePath().getParent());
      DurableFiles.writeAtomically(request.summaryFile(), Json.canonicalBytes(result));
      return result;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "publishing release set " + set.name() + " " + set.version()
          + " to " + request.repository() + " failed: " + e, e);
    }
  }

  /** Every component's release, verified; all missing ones and all without a plan named at once. */
  private List<SetResult.Component> components(ReleaseSet set, Repository repository, MetadataVerifier verifier)
      throws IOException {
    List<SetResult.Component> found = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    List<String> unplanned = new ArrayList<>();
    List<String> otherSet = new ArrayList<>();
    List<String> unmarked = new ArrayList<>();
    for (ReleaseSet.Component c : set.components()) {
      String path = RepositoryLayout.releaseManifest(c.app(), c.version());
      Repository.Stored stored = repository.read(path, DocumentType.RELEASE.maxBytes());
      if (stored == null) {
        missing.add(c.app() + " " + c.version() + " (no " + path + ")");
        continue;
      }
      ReleaseManifest manifest;
      try {
        manifest = Documents.manifest(verifier, stored.bytes(), c.app(), c.version(), null);
      } catch (UpgradeException e) {
        throw new UpgradeException(e.code(), "component " + c.app() + " " + c.version() + " in "
            + repository.location() + ": " + e.getMessage() + "; nothing was written", e);
      }
      if (manifest.rollout() == null) {
        unplanned.add(c.app() + " " + c.version());
        continue;
      }
      if (manifest.rollout().set() == null) {
        unmarked.add(c.app() + " " + c.version());
      } else if (!manifest.rollout().set().equals(set.name())) {
        otherSet.add(c.app() + " " + c.version() + " (set " + manifest.rollout().set() + ")");
      }
      found.add(new SetResult.Component(c.app(), c.version(),
          new BlobRef(Hashes.sha256(stored.bytes()), stored.bytes().length), RolloutSettings.describe(manifest.rollout())));
      events.accept(Event.detail("component " + c.app() + " " + c.version() + ": published, rollout "
          + RolloutSettings.describe(manifest.rollout())));
    }
    if (!missing.isEmpty()) {
      throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "release set " + set.name() + " " + set.version()
          + " names releases that " + repository.location() + " does not hold: " + String.join(", ", missing)
          + ". Release every component first ('mvn upgrade:release' in each, or earlier in the same build), then"
          + " publish the set; nothing was written");
    }
    if (!unplanned.isEmpty()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "release set " + set.name() + " " + set.version()
          + " names releases without a rollout plan: " + String.join(", ", unplanned) + ". Their nodes would"
          + " install them as soon as they see them, whatever the set's order: release each component with a"
          + " <rollout> (the smallest is <rollout/>); nothing was written");
    }
    if (!otherSet.isEmpty()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "release set " + set.name() + " " + set.version()
          + " names releases whose plans name another release set: " + String.join(", ", otherSet) + ". repo-server"
          + " would hold them for that set: publish this set under that name (<setName>), or release the components"
          + " again with <rollout><set>" + set.name() + "</set>; nothing was written");
    }
    if (!unmarked.isEmpty()) {
      events.accept(Event.warning("the plans of " + String.join(", ", unmarked) + " name no release set: if their"
          + " channel moved before this set is published, repo-server may have started their rollouts by themselves,"
          + " outside the set's order. Release components with <rollout><set>" + set.name() + "</set> (the build's"
          + " modules form does it by itself) so they wait for the set"));
    }
    return found;
  }

  /** The stored set, if it is this set (its timestamps aside); else VERSION_EXISTS. */
  private static byte[] requireSame(MetadataVerifier verifier, byte[] stored, ReleaseSet set, String location) {
    ReleaseSet existing = verifier.verifyDocument(stored, DocumentType.RELEASE_SET, ReleaseSet.class);
    if (!existing.name().equals(set.name()) || !existing.version().equals(set.version())) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, RepositoryLayout.releaseSet(set.name(),
          set.version()) + " in " + location + " holds set " + existing.name() + " " + existing.version()
          + "; run 'mvn upgrade:verify' on the repository");
    }
    if (!existing.components().equals(set.components()) || existing.strategy() != set.strategy()
        || existing.rollbackPolicy() != set.rollbackPolicy() || !existing.contracts().equals(set.contracts())) {
      throw new ConfigurationException(ErrorCode.VERSION_EXISTS, "release set " + set.name() + " " + set.version()
          + " is already published in " + location + " with other content (" + describe(existing) + "; this"
          + " descriptor: " + describe(set) + "). Sets are immutable: publish the change under a new <setVersion>");
    }
    return stored;
  }

  static String describe(ReleaseSet set) {
    List<String> parts = new ArrayList<>();
    for (ReleaseSet.Component c : set.components()) {
      parts.add(c.app() + " " + c.version() + (c.dependsOn().isEmpty() ? "" : " after "
          + String.join("+", c.dependsOn())));
    }
    return String.join(", ", parts) + "; " + set.strategy().wire() + ", rollback " + set.rollbackPolicy().wire()
        + (set.contracts().isEmpty() ? "" : "; contracts: " + set.contracts().stream().map(Object::toString)
            .reduce((a, b) -> a + ", " + b).orElse(""));
  }
}
