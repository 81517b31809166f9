package io.upgradekit.plugin.plan;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Documents;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.Repository;
import io.upgradekit.plugin.release.RepositoryTrust;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Gathers what a preview needs and computes it ({@link PlanPreview}): each component's rollout plan
 * from its signed release manifest (verified with the repository's trust root), or, for a single
 * release not published yet, the pom's; and the fleet from an inventory. Reads only: it writes
 * nothing anywhere.
 */
public final class Previewer {
  private final ReleaseBuilder.RepositoryFactory repositories;
  private final Path baseDirectory;
  private final Clock clock;
  private final Consumer<Event> events;

  public Previewer(ReleaseBuilder.RepositoryFactory repositories, Path baseDirectory, Clock clock,
      Consumer<Event> events) {
    this.repositories = Objects.requireNonNull(repositories, "repositories");
    this.baseDirectory = Objects.requireNonNull(baseDirectory, "baseDirectory");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * @throws UpgradeException CONFIG_INVALID (no inventory for a repo-server URL, no inventory file),
   *     the trust root's verification codes, IO_ERROR; a component's own problems are in the preview
   */
  public Preview preview(PlanRequest request) {
    List<FleetInventory.Node> fleet = fleet(request);
    try {
      Repository repository = request.repository() == null || request.repository().isBlank() ? null
          : repositories.open(request.repository(), null);
      try {
        MetadataVerifier verifier = repository == null ? null
            : new MetadataVerifier(RepositoryTrust.load(repository, clock), clock);
        List<PlanPreview.Component> components = new ArrayList<>();
        PlanPreview.SetInfo set = null;
        if (request.descriptor() != null) {
          set = new PlanPreview.SetInfo(request.setName(), request.setVersion(), request.descriptor().strategy(),
              request.descriptor().rollbackPolicy(), request.descriptor().contracts());
          for (ReleaseSet.Component c : request.descriptor().components()) {
            components.add(component(repository, verifier, c.app(), c.version(), c.dependsOn(), null, true));
          }
        } else {
          components.add(component(repository, verifier, request.app(), request.version(), List.of(),
              request.pomPlan(), false));
        }
        return PlanPreview.preview(new PlanPreview.Input(set, components, request.channel(), fleet,
            request.nodeTime()));
      } finally {
        if (repository != null) {
          repository.close();
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "reading " + request.repository() + " failed: " + e, e);
    }
  }

  private List<FleetInventory.Node> fleet(PlanRequest request) {
    if (request.inventory() != null) {
      Path path = baseDirectory.resolve(request.inventory());
      List<FleetInventory.Node> nodes = FleetInventory.read(path, clock.instant());
      events.accept(Event.info("Fleet: " + nodes.size() + " node entries from " + path));
      return nodes;
    }
    if (request.repository() == null || Repositories.isUrl(request.repository())) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<inventory> is not set: repo-server has no API"
          + " that lists the fleet's nodes yet, so give its inventory as a file: -Dupgrade.inventory=PATH, the"
          + " server's fleet/inventory directory (or a copy of one of its <instance>.json snapshots)");
    }
    Path own = baseDirectory.resolve(request.repository()).resolve(RepositoryLayout.inventorySnapshots());
    if (!Files.isDirectory(own)) {
      events.accept(Event.warning("no inventory at " + own + " (no repo-server has run on this repository): the"
          + " preview knows no node; give -Dupgrade.inventory=PATH to preview against a fleet"));
      return List.of();
    }
    List<FleetInventory.Node> nodes = FleetInventory.read(own, clock.instant());
    events.accept(Event.info("Fleet: " + nodes.size() + " node entries from " + own));
    return nodes;
  }

  private PlanPreview.Component component(Repository repository, MetadataVerifier verifier, String app,
      String version, List<String> dependsOn, io.upgradekit.schema.model.RolloutPlan pomPlan, boolean inSet)
      throws IOException {
    Repository.Stored stored = repository == null ? null
        : repository.read(RepositoryLayout.releaseManifest(app, version), DocumentType.RELEASE.maxBytes());
    if (stored == null) {
      if (pomPlan != null) {
        return new PlanPreview.Component(app, version, dependsOn, pomPlan, "pom", null);
      }
      return new PlanPreview.Component(app, version, dependsOn, null, null, new Preview.Problem(
          ErrorCode.REFERENCE_MISSING.name(), app, app + " " + version + " is not published"
          + (repository == null ? "" : " in " + repository.location()) + ": release it first" + (inSet
          ? " (upgrade:release-set refuses a set whose releases are missing)"
          : ", or give the pom a <rollout> to preview")));
    }
    ReleaseManifest manifest;
    try {
      manifest = Documents.manifest(verifier, stored.bytes(), app, version, null);
    } catch (UpgradeException e) {
      return new PlanPreview.Component(app, version, dependsOn, null, null, new Preview.Problem(e.code().name(), app,
          app + " " + version + " in " + repository.location() + ": " + e.getMessage()));
    }
    if (manifest.rollout() == null) {
      return new PlanPreview.Component(app, version, dependsOn, null, null, new Preview.Problem(
          ErrorCode.CONFIG_INVALID.name(), app, app + " " + version + " has no rollout plan: its nodes install it as"
          + " soon as they see it, with no waves and no order; release it with a <rollout>"));
    }
    return new PlanPreview.Component(app, version, dependsOn, manifest.rollout(), "published", null);
  }
}
