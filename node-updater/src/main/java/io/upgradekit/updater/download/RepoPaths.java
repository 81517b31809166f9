package io.upgradekit.updater.download;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.Names;

/**
 * Repository paths the updater reads (DESIGN §4). Stand-in for {@code
 * io.upgradekit.schema.layout.RepositoryLayout} until the schema-io branch is in main; then the
 * callers move to it and this class goes away.
 */
public final class RepoPaths {
  private RepoPaths() {}

  public static String trustRoot(long version) {
    return "roots/" + version + ".root.json";
  }

  public static String blob(String sha256) {
    if (!Hashes.isSha256Hex(sha256)) {
      throw new IllegalArgumentException("not a SHA-256: " + sha256);
    }
    return "blobs/sha256/" + sha256.substring(0, 2) + "/" + sha256;
  }

  public static String releaseManifest(String app, String version) {
    return "apps/" + Names.app(app) + "/releases/" + Names.version(version) + "/release.json";
  }

  public static String channelPointer(String app, String channel) {
    return "apps/" + Names.app(app) + "/channels/" + Names.channel(channel) + ".json";
  }
}
