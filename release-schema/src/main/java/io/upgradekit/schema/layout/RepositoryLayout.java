package io.upgradekit.schema.layout;

import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The repository's directory tree: the one place that maps names (app, version, channel, blob
 * hash, node, ...) to the relative paths of the files that hold them. The plugin, repo-server and
 * the node updater all build paths here, so they cannot disagree, and any static server can
 * serve the tree.
 *
 * <pre>{@code
 * root.json                                        current trust root
 * roots/<n>.root.json                              trust root version n (n >= 1)
 * blobs/sha256/<xx>/<hash>                         content (packages, deltas); xx = hash[0..2)
 * apps/<app>/releases/<version>/release.json       signed release manifest
 * apps/<app>/channels/<channel>.json               signed channel pointer
 * apps/<app>/rollout/<version>.json                signed rollout state
 * sets/<name>/<version>.json                       signed release set (components in dependency order)
 * sets/<name>/rollout/<version>.json               signed state of a release set's rollout
 * claims/<app>/<version>/<scope>/slot-<n>.json     a claimed rollout slot (n >= 0)
 * claims/<app>/<version>/<scope>/node-<node>.json  a node's claim index
 * feedback/<app>/<node>/<eventId>/<sequence>.json  a node's report (sequence >= 0)
 * rollouts/<app>/<version>/decisions/<sequence>.json                 a rollout decision (sequence >= 1)
 * rollouts/<app>/<version>/leases/<kind>/slot-<n>/<generation>.json  a rollout slot's grant (generation >= 1)
 * rollouts/<app>/<version>/leases/<kind>/slot-<n>/<generation>.confirmed.json  confirmed before STOP
 * rollouts/<app>/<version>/leases/<kind>/slot-<n>/<generation>.released.json   given back
 * set-rollouts/<name>/<version>/decisions/<sequence>.json            a release set's decision (sequence >= 1)
 * fleet/inventory/<instance>.json                  one server process's inventory snapshot
 * }</pre>
 *
 * <p>Every name is checked by {@link Names} before a path is built, so a returned path is always
 * relative, '/'-separated, free of {@code ..} and hidden segments, and stays below the root
 * wherever it is resolved. Paths are Strings because they are used as URL paths as much as file
 * paths; {@link #resolve} turns one into a file path.
 *
 * <p>Immutable vs mutable: blobs, release manifests, release sets and versioned trust roots never
 * change once written; channel pointers, rollout state and {@code root.json} are replaced atomically; claims
 * feedback, rollout decisions and lease files are created exclusively by repo-server's API; inventory snapshots
 * are replaced atomically, each by the one server process that names it. Publication order is blobs, then the
 * manifest, then the pointer, so that a reader never finds a reference to a missing file.
 *
 * <p>A directory store keeps the bookkeeping of its compare-and-swap beside each mutable
 * document, as dot files that no server serves ({@link #isHidden}): {@link #sequenceClaims} and
 * {@link #swapLock}. Their names are part of the layout because every publisher of one
 * directory (any release of the plugin, any repo-server process) must agree on them.
 */
public final class RepositoryLayout {
  /** The current trust root, at the repository's top. */
  public static final String TRUST_ROOT = "root.json";

  private static final String ROOTS = "roots";
  private static final String ROOT_SUFFIX = ".root.json";
  private static final String BLOBS = "blobs";
  private static final String SHA256 = "sha256";
  private static final String APPS = "apps";
  private static final String RELEASES = "releases";
  private static final String RELEASE_JSON = "release.json";
  private static final String CHANNELS = "channels";
  private static final String ROLLOUT = "rollout";
  private static final String SETS = "sets";
  private static final String CLAIMS = "claims";
  private static final String SLOT_PREFIX = "slot-";
  private static final String NODE_PREFIX = "node-";
  private static final String FEEDBACK = "feedback";
  private static final String ROLLOUTS = "rollouts";
  private static final String DECISIONS = "decisions";
  private static final String LEASES = "leases";
  private static final String SET_ROLLOUTS = "set-rollouts";
  private static final String FLEET = "fleet";
  private static final String INVENTORY = "inventory";
  private static final String CONFIRMED_SUFFIX = ".confirmed.json";
  private static final String RELEASED_SUFFIX = ".released.json";
  private static final String JSON = ".json";

  /**
   * A number as this class writes it: decimal, no sign, no leading zeros. At most 19 digits, so
   * that parsing cannot be made slow; range is checked when parsing.
   */
  private static final Pattern CANONICAL_NUMBER = Pattern.compile("0|[1-9][0-9]{0,18}");

  private RepositoryLayout() {}

  /**
   * The current trust root, which nodes fetch first.
   *
   * @return {@value #TRUST_ROOT}
   */
  public static String trustRoot() {
    return TRUST_ROOT;
  }

  /**
   * One version of the trust root, kept forever so that a node several rotations behind can walk
   * the chain from the version it trusts.
   *
   * @param version the trust root's version, 1 or more
   * @return {@code roots/<version>.root.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if {@code version} is less than 1
   */
  public static String trustRoot(long version) {
    if (version < 1) {
      throw new UpgradeException(
          ErrorCode.NAME_INVALID, "trust root version " + version + " is invalid: it must be 1 or more");
    }
    return ROOTS + "/" + version + ROOT_SUFFIX;
  }

  /**
   * A content blob (a full package or a delta), named by the SHA-256 of its bytes and fanned out
   * by the hash's first two digits so that no directory grows huge.
   *
   * @param sha256 64 lowercase hex digits
   * @return {@code blobs/sha256/<first two digits>/<sha256>}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if {@code sha256} is not 64
   *     lowercase hex digits
   */
  public static String blob(String sha256) {
    Names.requireBlobHash(sha256);
    return BLOBS + "/" + SHA256 + "/" + sha256.substring(0, 2) + "/" + sha256;
  }

  /**
   * The signed manifest of one release; immutable once published.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param version the release version, see {@link Names#requireVersion}
   * @return {@code apps/<app>/releases/<version>/release.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String releaseManifest(String app, String version) {
    return appDir(app) + RELEASES + "/" + Names.requireVersion(version) + "/" + RELEASE_JSON;
  }

  /**
   * The signed pointer from a channel to its current release; replaced atomically on publish.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param channel the channel, see {@link Names#requireChannel}
   * @return {@code apps/<app>/channels/<channel>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String channelPointer(String app, String channel) {
    return appDir(app) + CHANNELS + "/" + Names.requireChannel(channel) + JSON;
  }

  /**
   * The signed, short-lived rollout state of one release (waves open, paused, halted, recalled);
   * replaced atomically by repo-server.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param version the release version, see {@link Names#requireVersion}
   * @return {@code apps/<app>/rollout/<version>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String rolloutState(String app, String version) {
    return appDir(app) + ROLLOUT + "/" + Names.requireVersion(version) + JSON;
  }

  /**
   * A signed release set (components in dependency order, DESIGN 7b); immutable once published.
   *
   * @param name the set, see {@link Names#requireSetName}
   * @param version the set's version, see {@link Names#requireVersion}
   * @return {@code sets/<name>/<version>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String releaseSet(String name, String version) {
    return SETS + "/" + Names.requireSetName(name) + "/" + Names.requireVersion(version) + JSON;
  }

  /**
   * The prefix of every version of one release set, to list them.
   *
   * @return {@code sets/<name>/}
   */
  public static String releaseSets(String name) {
    return SETS + "/" + Names.requireSetName(name) + "/";
  }

  /**
   * The signed, short-lived state of one release set's rollout (where each component is, the fleet
   * its contracts require); replaced atomically by repo-server.
   *
   * @param name the set, see {@link Names#requireSetName}
   * @param version the set's version, see {@link Names#requireVersion}
   * @return {@code sets/<name>/rollout/<version>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String setState(String name, String version) {
    return releaseSets(name) + ROLLOUT + "/" + Names.requireVersion(version) + JSON;
  }

  /**
   * The directory of one release set's decisions, read in sequence order.
   *
   * @return {@code set-rollouts/<name>/<version>/decisions/}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String setDecisions(String name, String version) {
    return SET_ROLLOUTS + "/" + Names.requireSetName(name) + "/" + Names.requireVersion(version) + "/" + DECISIONS
        + "/";
  }

  /**
   * One decision of a release set's rollout, created exclusively under the next sequence number.
   *
   * @param sequence 1 or more
   * @return {@code set-rollouts/<name>/<version>/decisions/<sequence>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid or {@code sequence} is
   *     less than 1
   */
  public static String setDecision(String name, String version, long sequence) {
    if (sequence < 1) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "set decision sequence " + sequence
          + " is invalid: it must be 1 or more");
    }
    return setDecisions(name, version) + sequence + JSON;
  }

  /**
   * The directory that holds the claims of one release's rollout within one scope; repo-server
   * lists it to find the next free slot.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param version the release version, see {@link Names#requireVersion}
   * @param scope the rollout scope, see {@link Names#requireScope}
   * @return {@code claims/<app>/<version>/<scope>}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String claimDirectory(String app, String version, String scope) {
    return CLAIMS + "/" + Names.requireApp(app) + "/" + Names.requireVersion(version) + "/"
        + Names.requireScope(scope);
  }

  /**
   * One claimed rollout slot, created exclusively so that each slot has exactly one holder.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param version the release version, see {@link Names#requireVersion}
   * @param scope the rollout scope, see {@link Names#requireScope}
   * @param slot the slot number, 0 or more
   * @return {@code claims/<app>/<version>/<scope>/slot-<slot>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid or {@code slot}
   *     is negative
   */
  public static String claimSlot(String app, String version, String scope, int slot) {
    if (slot < 0) {
      throw new UpgradeException(
          ErrorCode.NAME_INVALID, "slot " + slot + " is invalid: it must be 0 or more");
    }
    return claimDirectory(app, version, scope) + "/" + SLOT_PREFIX + slot + JSON;
  }

  /**
   * A node's claim index: which slot the node holds, created exclusively, so that a node that
   * asks again (after a retry or a restart) gets the same slot rather than a second one.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param version the release version, see {@link Names#requireVersion}
   * @param scope the rollout scope, see {@link Names#requireScope}
   * @param node the node id, see {@link Names#requireNodeId}
   * @return {@code claims/<app>/<version>/<scope>/node-<node>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String claimIndex(String app, String version, String scope, String node) {
    String dir = claimDirectory(app, version, scope);
    return dir + "/" + NODE_PREFIX + Names.requireNodeId(node) + JSON;
  }

  /**
   * The prefix of every node report, to list them all (repo-server rebuilds its fleet index from
   * them).
   *
   * @return {@code feedback/}
   */
  public static String allFeedback() {
    return FEEDBACK + "/";
  }

  /**
   * The directory that holds the reports of one update event on one node.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param node the node id, see {@link Names#requireNodeId}
   * @param eventId the update event, see {@link Names#requireEventId}
   * @return {@code feedback/<app>/<node>/<eventId>}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String feedbackDirectory(String app, String node, String eventId) {
    return FEEDBACK + "/" + Names.requireApp(app) + "/" + Names.requireNodeId(node) + "/"
        + Names.requireEventId(eventId);
  }

  /**
   * One report of an update event; a node numbers its reports per event, so a resent report lands
   * on the same file and is recognised as a duplicate.
   *
   * @param app the application, see {@link Names#requireApp}
   * @param node the node id, see {@link Names#requireNodeId}
   * @param eventId the update event, see {@link Names#requireEventId}
   * @param sequence the report's number within the event, 0 or more
   * @return {@code feedback/<app>/<node>/<eventId>/<sequence>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid or {@code
   *     sequence} is negative
   */
  public static String feedback(String app, String node, String eventId, long sequence) {
    if (sequence < 0) {
      throw new UpgradeException(
          ErrorCode.NAME_INVALID, "feedback sequence " + sequence + " is invalid: it must be 0 or more");
    }
    return feedbackDirectory(app, node, eventId) + "/" + sequence + JSON;
  }

  /**
   * The directory of one rollout's decisions, to read them in sequence order (1, 2, ... until
   * the first missing one).
   *
   * @return {@code rollouts/<app>/<version>/decisions/}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid
   */
  public static String rolloutDecisions(String app, String version) {
    return rolloutDir(app, version) + DECISIONS + "/";
  }

  /**
   * One decision of a rollout, created exclusively under the next sequence number so that it takes
   * effect once, whichever server process takes it.
   *
   * @param sequence 1 or more
   * @return {@code rollouts/<app>/<version>/decisions/<sequence>.json}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid or {@code sequence} is
   *     less than 1
   */
  public static String rolloutDecision(String app, String version, long sequence) {
    if (sequence < 1) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "decision sequence " + sequence
          + " is invalid: it must be 1 or more");
    }
    return rolloutDecisions(app, version) + sequence + JSON;
  }

  /**
   * The prefix of every rollout's first decision and more: {@code rollouts/}, to find the rollouts
   * a repository holds.
   */
  public static String allRollouts() {
    return ROLLOUTS + "/";
  }

  /**
   * The directory of one slot of a rollout's leases: the slot's grants, one file per generation
   * (the fencing number), each created exclusively, with their confirmation and release markers.
   *
   * @param kind {@code upgrade} or {@code recall} (a lease kind's JSON name)
   * @param slot 0 or more
   * @return {@code rollouts/<app>/<version>/leases/<kind>/slot-<slot>/}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if a name is invalid or {@code slot} is
   *     negative
   */
  public static String leaseSlot(String app, String version, String kind, int slot) {
    if (slot < 0) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "slot " + slot + " is invalid: it must be 0 or more");
    }
    return rolloutDir(app, version) + LEASES + "/" + requireLeaseKind(kind) + "/" + SLOT_PREFIX + slot + "/";
  }

  /**
   * One grant of a slot (a signed lease), created exclusively: one holder per slot generation.
   *
   * @param generation 1 or more
   * @return {@code rollouts/<app>/<version>/leases/<kind>/slot-<slot>/<generation>.json}
   */
  public static String lease(String app, String version, String kind, int slot, long generation) {
    return leaseSlot(app, version, kind, slot) + requireGeneration(generation) + JSON;
  }

  /**
   * The mark that the holder of a grant confirmed it just before it stopped its service.
   *
   * @return {@code rollouts/<app>/<version>/leases/<kind>/slot-<slot>/<generation>.confirmed.json}
   */
  public static String leaseConfirmed(String app, String version, String kind, int slot, long generation) {
    return leaseSlot(app, version, kind, slot) + requireGeneration(generation) + CONFIRMED_SUFFIX;
  }

  /**
   * The mark that a grant was given back (its slot is free for the next generation).
   *
   * @return {@code rollouts/<app>/<version>/leases/<kind>/slot-<slot>/<generation>.released.json}
   */
  public static String leaseReleased(String app, String version, String kind, int slot, long generation) {
    return leaseSlot(app, version, kind, slot) + requireGeneration(generation) + RELEASED_SUFFIX;
  }

  /** The prefix of every inventory snapshot: {@code fleet/inventory/}. */
  public static String inventorySnapshots() {
    return FLEET + "/" + INVENTORY + "/";
  }

  /**
   * One server process's snapshot of the node inventory (heartbeats), which every process on the
   * repository merges.
   *
   * @param instance the server instance, see {@link Names#requireNodeId} (same pattern)
   * @return {@code fleet/inventory/<instance>.json}
   */
  public static String inventorySnapshot(String instance) {
    if (instance == null || !Names.isLowercaseName(instance)) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "server instance " + (instance == null ? "(missing)" : Names.quote(instance))
          + " must match " + Names.LOWERCASE_NAME_PATTERN);
    }
    return inventorySnapshots() + instance + JSON;
  }

  private static String rolloutDir(String app, String version) {
    return ROLLOUTS + "/" + Names.requireApp(app) + "/" + Names.requireVersion(version) + "/";
  }

  private static String requireLeaseKind(String kind) {
    if (!"upgrade".equals(kind) && !"recall".equals(kind)) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "lease kind " + (kind == null ? "(missing)" : Names.quote(kind))
          + " is invalid: it must be upgrade or recall");
    }
    return kind;
  }

  private static long requireGeneration(long generation) {
    if (generation < 1) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, "lease generation " + generation
          + " is invalid: it must be 1 or more");
    }
    return generation;
  }

  /**
   * Tells what a repository-relative path holds. Only paths exactly as this class builds them are
   * recognised: every name is checked with the same patterns, numbers must be canonical, and a
   * blob's fan-out directory must match its hash. Anything else, including hidden and temp files,
   * is {@link PathKind#OTHER}.
   *
   * @param relativePath a '/'-separated path relative to the repository root, without a leading
   *     '/' and already percent-decoded (a URL path with its leading '/' removed)
   * @return the kind; {@link PathKind#OTHER} for null or unknown paths
   */
  public static PathKind kindOf(String relativePath) {
    if (relativePath == null || relativePath.isEmpty()) {
      return PathKind.OTHER;
    }
    String[] s = relativePath.split("/", -1);
    switch (s[0]) {
      case TRUST_ROOT:
        return s.length == 1 ? PathKind.TRUST_ROOT : PathKind.OTHER;
      case ROOTS:
        return s.length == 2 && parseNumber(stripSuffix(s[1], ROOT_SUFFIX), 1, Long.MAX_VALUE)
            ? PathKind.TRUST_ROOT
            : PathKind.OTHER;
      case BLOBS:
        return s.length == 4
                && s[1].equals(SHA256)
                && Hashes.isSha256Hex(s[3])
                && s[2].equals(s[3].substring(0, 2))
            ? PathKind.BLOB
            : PathKind.OTHER;
      case APPS:
        return kindOfAppPath(s);
      case SETS:
        if (s.length == 4 && Names.isLowercaseName(s[1]) && s[2].equals(ROLLOUT)
            && Names.isVersion(stripSuffix(s[3], JSON))) {
          return PathKind.SET_STATE;
        }
        return s.length == 3 && Names.isLowercaseName(s[1]) && Names.isVersion(stripSuffix(s[2], JSON))
            ? PathKind.RELEASE_SET
            : PathKind.OTHER;
      case SET_ROLLOUTS:
        return s.length == 5 && Names.isLowercaseName(s[1]) && Names.isVersion(s[2]) && s[3].equals(DECISIONS)
                && parseNumber(stripSuffix(s[4], JSON), 1, Long.MAX_VALUE)
            ? PathKind.SET_DECISION
            : PathKind.OTHER;
      case CLAIMS:
        return s.length == 5
                && Names.isLowercaseName(s[1])
                && Names.isVersion(s[2])
                && Names.isLowercaseName(s[3])
                && isClaimFileName(s[4])
            ? PathKind.CLAIM
            : PathKind.OTHER;
      case ROLLOUTS:
        return kindOfRolloutPath(s);
      case FLEET:
        return s.length == 3 && s[1].equals(INVENTORY) && Names.isLowercaseName(stripSuffix(s[2], JSON))
            ? PathKind.INVENTORY
            : PathKind.OTHER;
      case FEEDBACK:
        return s.length == 5
                && Names.isLowercaseName(s[1])
                && Names.isLowercaseName(s[2])
                && Names.isEventId(s[3])
                && parseNumber(stripSuffix(s[4], JSON), 0, Long.MAX_VALUE)
            ? PathKind.FEEDBACK
            : PathKind.OTHER;
      default:
        return PathKind.OTHER;
    }
  }

  /**
   * Whether the file at a repository-relative path never changes once written, so that a server
   * may let clients and CDNs cache it forever: blobs, release manifests and versioned trust roots.
   *
   * @param relativePath a path as for {@link #kindOf}
   * @return true for immutable content; false for mutable documents, claims, feedback and
   *     anything unknown
   */
  public static boolean isImmutable(String relativePath) {
    return switch (kindOf(relativePath)) {
      case BLOB, RELEASE_MANIFEST, RELEASE_SET -> true;
      case TRUST_ROOT -> !TRUST_ROOT.equals(relativePath);
      default -> false;
    };
  }

  /**
   * Whether any segment of a path starts with '.': temp files, editor and VCS leftovers. A server
   * must not serve these. Both '/' and '\' count as separators here, to be safe with paths from
   * any platform.
   *
   * @param relativePath a relative path
   * @return true if some segment starts with '.'
   */
  public static boolean isHidden(String relativePath) {
    Objects.requireNonNull(relativePath, "relativePath");
    for (String segment : relativePath.split("[/\\\\]", -1)) {
      if (segment.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Resolves a repository-relative path against the repository's root directory, refusing
   * anything that could end outside it. The check is lexical: the path must consist of
   * non-empty '/'-separated segments other than {@code .} and {@code ..}, without a leading '/',
   * backslash or control character, and the result must lie strictly below {@code root}.
   * Symlinks are not followed; the repository's writers never create any.
   *
   * @param root the repository's root directory
   * @param relativePath a '/'-separated relative path, e.g. from this class or from a URL
   * @return the absolute, normalized file path below {@code root}
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if the path is empty, absolute,
   *     malformed or escapes {@code root}
   */
  public static Path resolve(Path root, String relativePath) {
    Objects.requireNonNull(root, "root");
    requireRelative(relativePath);
    Path base = root.toAbsolutePath().normalize();
    Path resolved;
    try {
      resolved = base.resolve(relativePath).normalize();
    } catch (InvalidPathException e) {
      throw escapes(relativePath, "is not a valid path on this platform");
    }
    // Belt and braces: also catches platform quirks such as Windows drive-relative "C:x".
    if (!resolved.startsWith(base) || resolved.equals(base)) {
      throw escapes(relativePath, "leads outside the repository root");
    }
    return resolved;
  }

  /**
   * The hidden directory beside a mutable document in which a directory store's publishers claim
   * the document's sequence numbers ({@code <n>}, then {@code <n>.<attempt>}), see {@link
   * io.upgradekit.schema.io.PointerSwap}.
   *
   * @param documentPath a '/'-separated path of the document, or just its file name
   * @return the sibling {@code .<name without .json>.sequence}, e.g. {@code
   *     apps/a/channels/.stable.sequence} for {@code apps/a/channels/stable.json}
   */
  public static String sequenceClaims(String documentPath) {
    String name = fileName(documentPath);
    String stem = name.endsWith(JSON) ? name.substring(0, name.length() - JSON.length()) : name;
    return sibling(documentPath, "." + stem + ".sequence");
  }

  /**
   * One claim of a sequence number of a mutable document, see {@link #sequenceClaims}.
   *
   * @param documentPath a '/'-separated path of the document, or just its file name
   * @param sequence the claimed sequence, 0 or more
   * @param attempt the fencing number, 1 or more: 1 is the first claim of the sequence
   * @return {@code <sequence claims>/<sequence>} for attempt 1, else {@code
   *     <sequence claims>/<sequence>.<attempt>}
   */
  public static String sequenceClaim(String documentPath, long sequence, int attempt) {
    if (sequence < 0 || attempt < 1) {
      throw new IllegalArgumentException("sequence " + sequence + " attempt " + attempt);
    }
    return sequenceClaims(documentPath) + "/" + (attempt == 1 ? Long.toString(sequence) : sequence + "." + attempt);
  }

  /**
   * The hidden file beside a mutable document whose OS lock a directory store's publishers hold
   * while they compare and replace the document, see {@link io.upgradekit.schema.io.PointerSwap}.
   *
   * @param documentPath a '/'-separated path of the document, or just its file name
   * @return the sibling {@code .<name>.lock}, e.g. {@code apps/a/channels/.stable.json.lock}
   */
  public static String swapLock(String documentPath) {
    return sibling(documentPath, "." + fileName(documentPath) + ".lock");
  }

  private static String fileName(String path) {
    Objects.requireNonNull(path, "path");
    String name = path.substring(path.lastIndexOf('/') + 1);
    if (name.isEmpty()) {
      throw new IllegalArgumentException("'" + path + "' names no document");
    }
    return name;
  }

  private static String sibling(String path, String name) {
    return path.substring(0, path.lastIndexOf('/') + 1) + name;
  }

  private static String appDir(String app) {
    return APPS + "/" + Names.requireApp(app) + "/";
  }

  private static PathKind kindOfAppPath(String[] s) {
    if (s.length < 4 || !Names.isLowercaseName(s[1])) {
      return PathKind.OTHER;
    }
    switch (s[2]) {
      case RELEASES:
        return s.length == 5 && Names.isVersion(s[3]) && s[4].equals(RELEASE_JSON)
            ? PathKind.RELEASE_MANIFEST
            : PathKind.OTHER;
      case CHANNELS:
        return s.length == 4 && Names.isLowercaseName(stripSuffix(s[3], JSON))
            ? PathKind.CHANNEL_POINTER
            : PathKind.OTHER;
      case ROLLOUT:
        return s.length == 4 && Names.isVersion(stripSuffix(s[3], JSON))
            ? PathKind.ROLLOUT_STATE
            : PathKind.OTHER;
      default:
        return PathKind.OTHER;
    }
  }

  /** {@code rollouts/<app>/<version>/decisions/<n>.json} or {@code .../leases/<kind>/slot-<n>/<g>[.confirmed|.released].json}. */
  private static PathKind kindOfRolloutPath(String[] s) {
    if (s.length < 5 || !Names.isLowercaseName(s[1]) || !Names.isVersion(s[2])) {
      return PathKind.OTHER;
    }
    if (s.length == 5 && s[3].equals(DECISIONS)) {
      return parseNumber(stripSuffix(s[4], JSON), 1, Long.MAX_VALUE) ? PathKind.DECISION : PathKind.OTHER;
    }
    if (s.length == 7 && s[3].equals(LEASES) && (s[4].equals("upgrade") || s[4].equals("recall"))
        && parseNumber(stripPrefix(s[5], SLOT_PREFIX), 0, Integer.MAX_VALUE)) {
      String name = s[6];
      String stem = name.endsWith(CONFIRMED_SUFFIX) ? stripSuffix(name, CONFIRMED_SUFFIX)
          : name.endsWith(RELEASED_SUFFIX) ? stripSuffix(name, RELEASED_SUFFIX) : stripSuffix(name, JSON);
      return parseNumber(stem, 1, Long.MAX_VALUE) ? PathKind.LEASE : PathKind.OTHER;
    }
    return PathKind.OTHER;
  }

  /** {@code slot-<n>.json} or {@code node-<node>.json}. */
  private static boolean isClaimFileName(String name) {
    String stem = stripSuffix(name, JSON);
    return parseNumber(stripPrefix(stem, SLOT_PREFIX), 0, Integer.MAX_VALUE)
        || Names.isLowercaseName(stripPrefix(stem, NODE_PREFIX));
  }

  /** {@code value} without {@code suffix}, or null if it does not end with it. */
  private static String stripSuffix(String value, String suffix) {
    return value != null && value.endsWith(suffix)
        ? value.substring(0, value.length() - suffix.length())
        : null;
  }

  /** {@code value} without {@code prefix}, or null if it does not start with it. */
  private static String stripPrefix(String value, String prefix) {
    return value != null && value.startsWith(prefix) ? value.substring(prefix.length()) : null;
  }

  private static boolean parseNumber(String value, long min, long max) {
    if (value == null || !CANONICAL_NUMBER.matcher(value).matches()) {
      return false;
    }
    try {
      long n = Long.parseLong(value);
      return n >= min && n <= max;
    } catch (NumberFormatException e) {
      return false; // 19 digits beyond Long.MAX_VALUE
    }
  }

  /**
   * Checks a repository-relative path lexically, as {@link #resolve} does, for stores that hold
   * the repository somewhere other than a directory (an object store's keys).
   *
   * @param path a '/'-separated relative path
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if the path is empty, absolute, holds a
   *     control character or a backslash, or has an empty, '.' or '..' segment
   */
  public static void requireRelative(String path) {
    if (path == null || path.isEmpty()) {
      throw escapes("", "is empty");
    }
    if (path.startsWith("/")) {
      throw escapes(path, "is absolute");
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        throw escapes(path, "contains a control character or a backslash");
      }
    }
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw escapes(path, "has an empty, '.' or '..' segment");
      }
    }
  }

  private static UpgradeException escapes(String path, String why) {
    return new UpgradeException(
        ErrorCode.NAME_INVALID, "repository path " + Names.quote(path) + " " + why);
  }
}
