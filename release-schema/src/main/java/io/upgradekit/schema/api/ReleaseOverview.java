package io.upgradekit.schema.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.model.Names;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/releases}: what the repository publishes, per app: each channel's pointer, and the
 * releases with the sizes of the full package and of each delta, who signed them (key ids) and
 * until when they are valid; the live rollouts' signed states; and a warning on each signed
 * document that expired or expires soon (nodes refuse an expired pointer or manifest, and pause on
 * an expired rollout state). Operator or viewer credentials. Schema {@code
 * release-overview.schema.json}.
 *
 * @param generatedAt when the server answered
 * @param trustRoot the repository's current trust root
 * @param apps per app, sorted by name
 */
public record ReleaseOverview(Instant generatedAt, Root trustRoot, List<App> apps) {
  /** Apps per answer at most. */
  public static final int MAX_APPS = 1000;

  /** Releases listed per app at most (the newest by sequence). */
  public static final int MAX_RELEASES = 200;

  public ReleaseOverview {
    Wire.required(generatedAt, "generatedAt");
    apps = List.copyOf(Wire.required(apps, "apps"));
    if (apps.size() > MAX_APPS) {
      throw Wire.malformed("at most " + MAX_APPS + " apps");
    }
  }

  /**
   * The trust root.
   *
   * @param version its version
   * @param expires when it expires
   * @param keyIds the keys that signed it
   * @param warning why it needs attention (expired, expires soon), or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Root(long version, Instant expires, List<String> keyIds, String warning) {
    public Root {
      Wire.positive(version, "version");
      Wire.required(expires, "expires");
      keyIds = requireKeyIds(keyIds);
      Wire.text(warning, "warning", 1000);
    }
  }

  /**
   * One app.
   *
   * @param app its name
   * @param channels its channel pointers, sorted by name
   * @param releases its releases, newest (highest sequence) first, at most {@value #MAX_RELEASES}
   * @param moreReleases releases beyond those listed
   */
  public record App(String app, List<Channel> channels, List<Release> releases, int moreReleases) {
    public App {
      Names.requireApp(app);
      channels = List.copyOf(Wire.required(channels, "channels"));
      releases = List.copyOf(Wire.required(releases, "releases"));
      if (releases.size() > MAX_RELEASES) {
        throw Wire.malformed("at most " + MAX_RELEASES + " releases per app");
      }
      Wire.nonNegative(moreReleases, "moreReleases");
    }
  }

  /**
   * A channel pointer.
   *
   * @param channel its name
   * @param version the release it names
   * @param sequence its sequence
   * @param expires when nodes stop accepting it
   * @param keyIds the keys that signed it
   * @param warning why it needs attention, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Channel(String channel, String version, long sequence, Instant expires, List<String> keyIds,
      String warning) {
    public Channel {
      Names.requireChannel(channel);
      Names.requireVersion(version);
      Wire.nonNegative(sequence, "sequence");
      Wire.required(expires, "expires");
      keyIds = requireKeyIds(keyIds);
      Wire.text(warning, "warning", 1000);
    }
  }

  /**
   * A release.
   *
   * @param version its version
   * @param sequence its sequence among the app's releases
   * @param created when it was built
   * @param expires when nodes stop accepting its manifest
   * @param packageSize bytes of the full package
   * @param deltas the deltas from earlier versions
   * @param keyIds the keys that signed the manifest
   * @param channels the channels that name it now
   * @param strategy its rollout plan's strategy ({@code all}, {@code canary}, {@code batches}), or null
   *     without a plan
   * @param rollout the signed rollout state of a release with a plan, or null when none is stored
   * @param warning why the release needs attention, or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Release(String version, long sequence, Instant created, Instant expires, long packageSize,
      List<Delta> deltas, List<String> keyIds, List<String> channels, String strategy, RolloutState rollout,
      String warning) {
    public Release {
      Names.requireVersion(version);
      Wire.nonNegative(sequence, "sequence");
      Wire.required(expires, "expires");
      Wire.nonNegative(packageSize, "packageSize");
      deltas = List.copyOf(Wire.required(deltas, "deltas"));
      keyIds = requireKeyIds(keyIds);
      channels = List.copyOf(Wire.required(channels, "channels"));
      channels.forEach(Names::requireChannel);
      Wire.text(strategy, "strategy", 32);
      Wire.text(warning, "warning", 1000);
    }
  }

  /**
   * A delta to this release.
   *
   * @param fromVersion the version it applies to
   * @param size its bytes
   */
  public record Delta(String fromVersion, long size) {
    public Delta {
      Names.requireVersion(fromVersion);
      Wire.nonNegative(size, "size");
    }
  }

  /**
   * A release's signed rollout state (what nodes read).
   *
   * @param sequence its sequence
   * @param action {@code proceed}, {@code pause}, {@code halt} or {@code recall}
   * @param expires when it expires (re-signed while the rollout lives)
   * @param keyIds the keys that signed it
   * @param warning why it needs attention (expired, or not re-signed in time), or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RolloutState(long sequence, String action, Instant expires, List<String> keyIds, String warning) {
    public RolloutState {
      Wire.nonNegative(sequence, "sequence");
      Wire.required(action, "action");
      Wire.text(action, "action", 32);
      Wire.required(expires, "expires");
      keyIds = requireKeyIds(keyIds);
      Wire.text(warning, "warning", 1000);
    }
  }

  private static List<String> requireKeyIds(List<String> keyIds) {
    List<String> copy = List.copyOf(Wire.required(keyIds, "keyIds"));
    copy.forEach(id -> {
      if (!id.matches("[0-9a-f]{64}")) {
        throw Wire.malformed("a key id is 64 lowercase hex digits");
      }
    });
    return copy;
  }
}
