package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.sign.MetadataVerifier;

/**
 * Verification of documents the publisher reads back. Like {@link MetadataVerifier}'s typed
 * methods, but without the expiry check: a publisher builds deltas from old releases and replaces
 * old pointers whether or not they have expired; {@code verify} reports expiry on its own.
 */
public final class Documents {
  private Documents() {}

  /**
   * @param expected the manifest file's hash and size as a pointer references it, or null
   * @throws UpgradeException with the verification codes of {@link MetadataVerifier}
   */
  public static ReleaseManifest manifest(MetadataVerifier verifier, byte[] bytes, String app, String version,
      BlobRef expected) {
    String what = "release manifest " + app + " " + version;
    if (expected != null) {
      MetadataVerifier.requireMatches(bytes, expected, what);
    }
    ReleaseManifest manifest = verifier.verifyDocument(bytes, DocumentType.RELEASE, ReleaseManifest.class);
    if (!manifest.app().equals(app)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, what + " is for app " + manifest.app());
    }
    if (!manifest.version().equals(version)) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, what + " is for version " + manifest.version());
    }
    return manifest;
  }

  /** @throws UpgradeException with the verification codes of {@link MetadataVerifier} */
  public static ChannelPointer pointer(MetadataVerifier verifier, byte[] bytes, String app, String channel) {
    ChannelPointer pointer = verifier.verifyDocument(bytes, DocumentType.CHANNEL, ChannelPointer.class);
    if (!pointer.app().equals(app) || !pointer.channel().equals(channel)) {
      throw new UpgradeException(ErrorCode.WRONG_TARGET, "channel pointer " + app + "/" + channel + " is for "
          + pointer.app() + "/" + pointer.channel());
    }
    return pointer;
  }
}
