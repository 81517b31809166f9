package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Re-signs a channel pointer with a new expiry: the same release, the same manifest reference and
 * history, the next sequence. Channel pointers expire (so that a frozen mirror cannot hold nodes
 * back for ever); a channel that sees no release for longer than the pointer's lifetime needs this,
 * run by CI on a schedule, or its nodes stop updating.
 *
 * <p>It refuses when the pointer's release manifest expires before the new pointer would: nodes
 * refuse that release at the manifest's expiry whatever the pointer says, so only a new release
 * helps. The pointer is replaced by the repository's compare-and-swap, like a release's; a
 * publisher that moved the channel meanwhile wins, and the new head is re-signed instead.
 */
public final class PointerResigner {
  private final ReleaseBuilder.RepositoryFactory repositories;
  private final Clock clock;
  private final Consumer<Event> events;

  public PointerResigner(ReleaseBuilder.RepositoryFactory repositories, Clock clock, Consumer<Event> events) {
    this.repositories = Objects.requireNonNull(repositories, "repositories");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Objects.requireNonNull(events, "events");
  }

  /**
   * What to re-sign.
   *
   * @param app the app ({@code <app>})
   * @param channel the channel whose pointer to re-sign ({@code <channel>})
   * @param repository a directory, an {@code s3://} address or repo-server's URL ({@code <repository>})
   * @param token the publisher token for repo-server, or null; never printed
   * @param signingKey a release key of the repository's trust root
   * @param lifetime the new pointer expires this long after now ({@code <pointerExpiryDays>})
   * @param resignWithin re-sign only when the pointer expires within this ({@code <resignWithinDays>}),
   *     or null to re-sign whatever is left
   * @param attempts how often to try the compare-and-swap before giving up
   */
  public record Request(String app, String channel, String repository, String token, SigningKey signingKey,
      Duration lifetime, Duration resignWithin, int attempts) {
    public Request {
      named("<app>", () -> Names.requireApp(app));
      named("<channel>", () -> Names.requireChannel(channel));
      if (repository == null || repository.isBlank()) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> is not set: set <repository> (or"
            + " -Dupgrade.repository) to the directory, s3:// address or repo-server URL the channel is published in");
      }
      Objects.requireNonNull(signingKey, "signingKey");
      if (lifetime == null || lifetime.compareTo(Duration.ofDays(1)) < 0) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<pointerExpiryDays> must be at least 1 day");
      }
      if (resignWithin != null && (resignWithin.isNegative() || resignWithin.compareTo(lifetime) > 0)) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<resignWithinDays> is " + resignWithin.toDays()
            + ": it must be between 0 and <pointerExpiryDays> (" + lifetime.toDays() + "), or unset to re-sign every"
            + " time");
      }
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be at least 1");
      }
    }

    /** Secrets stay out of logs and messages. */
    @Override
    public String toString() {
      return "PointerResigner.Request[app=" + app + ", channel=" + channel + ", repository=" + repository + ", token="
          + (token == null ? "none" : "(set)") + ", key=" + signingKey.keyId() + ", lifetime=" + lifetime
          + ", resignWithin=" + resignWithin + "]";
    }

    private static void named(String element, Runnable check) {
      try {
        check.run();
      } catch (UpgradeException e) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * What happened.
   *
   * @param resigned true if a new pointer was written, false if the old one had more than {@code
   *     resignWithin} left
   * @param version the release the pointer names
   * @param sequence the pointer's sequence now
   * @param expires the pointer's expiry now
   * @param previousExpires the expiry of the pointer that was read
   * @param manifestExpires when the release's manifest expires (a later re-sign cannot go beyond it)
   */
  public record Result(boolean resigned, String app, String channel, String version, long sequence, Instant expires,
      Instant previousExpires, Instant manifestExpires, String repository) {}

  /**
   * @throws ConfigurationException NOT_FOUND (no pointer), METADATA_EXPIRED (the manifest expires
   *     first), key problems
   * @throws UpgradeException verification codes of what was read, IO_ERROR
   */
  public Result resign(Request request) {
    try (Repository repository = repositories.open(request.repository(), request.token())) {
      return new Run(request, repository).run();
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "re-signing channel " + request.channel() + " of "
          + request.app() + " in " + request.repository() + " failed: " + e, e);
    }
  }

  private final class Run {
    private final Request request;
    private final Repository repository;
    private MetadataVerifier verifier;

    Run(Request request, Repository repository) {
      this.request = request;
      this.repository = repository;
    }

    Result run() throws IOException {
      TrustRoot root = RepositoryTrust.load(repository, clock);
      RepositoryTrust.requireReleaseKey(root, request.signingKey(), repository.location());
      verifier = new MetadataVerifier(root, clock);
      String pointerPath = RepositoryLayout.channelPointer(request.app(), request.channel());
      for (int attempt = 1; attempt <= request.attempts(); attempt++) {
        Instant now = clock.instant();
        Instant expires = now.plus(request.lifetime()).truncatedTo(ChronoUnit.SECONDS);
        Repository.Stored stored = repository.read(pointerPath, DocumentType.CHANNEL.maxBytes());
        if (stored == null) {
          throw new ConfigurationException(ErrorCode.NOT_FOUND, "channel " + request.channel() + " of "
              + request.app() + " has no pointer in " + repository.location() + " (" + pointerPath + "): publish a"
              + " release to it first (mvn package upgrade:release), or check <app> and <channel>");
        }
        ChannelPointer head = Documents.pointer(verifier, stored.bytes(), request.app(), request.channel());
        ReleaseManifest manifest = manifestOf(head);
        if (request.resignWithin() != null && head.expires().isAfter(now.plus(request.resignWithin()))) {
          events.accept(Event.info("Channel " + request.channel() + " of " + request.app() + " (" + head.version()
              + ", sequence " + head.sequence() + ") expires at " + head.expires() + ", more than "
              + request.resignWithin().toDays() + " days away (<resignWithinDays>): nothing to re-sign"));
          return new Result(false, request.app(), request.channel(), head.version(), head.sequence(), head.expires(),
              head.expires(), manifest.expires(), repository.location());
        }
        requireManifestOutlives(head, manifest, expires, now);
        if (root.expires().isBefore(expires)) {
          events.accept(Event.warning("the trust root (version " + root.version() + ") expires at " + root.expires()
              + ", before this pointer (" + expires + "): from then on nodes refuse everything. Rotate the trust"
              + " root before (mvn upgrade:keygen with <rootKeyFile>; see docs/runbook.md)"));
        }
        ChannelPointer next = ChannelPointer.of(head.app(), head.channel(), head.version(), head.sequence() + 1,
            expires, head.manifest(), head.previous());
        byte[] envelope = Envelopes.sign(DocumentType.CHANNEL, next, List.of(request.signingKey()));
        if (repository.replacePointer(head.app(), head.channel(), stored, head.sequence(), envelope,
            next.sequence())) {
          events.accept(Event.info("Re-signed channel " + head.channel() + " of " + head.app() + ": "
              + head.version() + ", sequence " + head.sequence() + " -> " + next.sequence() + ", expires "
              + head.expires() + " -> " + expires + " (the release's manifest expires " + manifest.expires() + ")"));
          return new Result(true, head.app(), head.channel(), head.version(), next.sequence(), expires,
              head.expires(), manifest.expires(), repository.location());
        }
        events.accept(Event.info("another publisher moved channel " + request.channel() + " first (attempt "
            + attempt + " of " + request.attempts() + "); re-reading it"));
      }
      throw new UpgradeException(ErrorCode.IO_ERROR, "channel " + request.channel() + " in " + repository.location()
          + " kept changing under " + request.attempts() + " attempts to re-sign it; run the goal again");
    }

    private ReleaseManifest manifestOf(ChannelPointer pointer) throws IOException {
      Repository.Stored stored = repository.read(RepositoryLayout.releaseManifest(pointer.app(), pointer.version()),
          DocumentType.RELEASE.maxBytes());
      if (stored == null) {
        throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "channel " + pointer.channel() + " points at "
            + pointer.version() + ", whose manifest is missing from " + repository.location()
            + "; run 'mvn upgrade:verify' on the repository");
      }
      return Documents.manifest(verifier, stored.bytes(), pointer.app(), pointer.version(), pointer.manifest());
    }

    /** Nodes refuse the release at its manifest's expiry whatever the pointer says: say so now. */
    private void requireManifestOutlives(ChannelPointer head, ReleaseManifest manifest, Instant expires,
        Instant now) {
      if (!manifest.expires().isBefore(expires)) {
        return;
      }
      String what = "the release manifest of " + head.app() + " " + head.version() + ", which channel "
          + head.channel() + " points at,";
      if (!manifest.expires().isAfter(now)) {
        throw new ConfigurationException(ErrorCode.METADATA_EXPIRED, what + " expired at " + manifest.expires()
            + ": nodes refuse that release whatever the pointer says, so re-signing the pointer cannot help. Publish"
            + " a new release to the channel (mvn package upgrade:release with a new version)");
      }
      long days = Duration.between(now, manifest.expires()).toDays();
      throw new ConfigurationException(ErrorCode.METADATA_EXPIRED, what + " expires at " + manifest.expires()
          + ", before the re-signed pointer would (" + expires + "): nodes refuse that release from then on whatever"
          + " the pointer says. Publish a new release to the channel before then (mvn package upgrade:release with a"
          + " new version)" + (days >= 1 ? ", or re-sign for at most " + days + " days (-Dupgrade.pointerExpiryDays="
              + days + ")" : ""));
    }
  }
}
