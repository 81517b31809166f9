package io.upgradekit.it.bench.fleet;

import io.upgradekit.it.HarnessException;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's repository and secrets: a trust root naming a root, a release and a rollout key;
 * the rollout key file, the node secret, the publisher token and a viewer's operator credential
 * (all mode 0600, as repo-server checks); and two releases of app {@code fleet}: {@code 1.0.0}
 * without a plan (what the fleet runs) and {@code 2.0.0} with the benchmark's plan. Everything is
 * published through repo-server's publish API, so the bench does not depend on the store behind it.
 */
final class BenchRepository {
  static final String APP = "fleet";
  static final String CHANNEL = "stable";
  static final String FROM = "1.0.0";
  static final String TO = "2.0.0";

  final Path secrets;
  final Path trustRootFile;
  final Path rolloutKeyFile;
  final Path nodeSecretFile;
  final Path publishTokenFile;
  final Path operatorsFile;
  final TrustRoot trust;
  final String viewerToken;
  private final SigningKey releaseKey;
  private final String publishToken;
  private final Instant expires = Instant.now().plus(30, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);

  BenchRepository(Path secrets) throws IOException {
    this.secrets = secrets;
    Files.createDirectories(secrets);
    SigningKey rootKey = SigningKey.generate();
    releaseKey = SigningKey.generate();
    SigningKey rolloutKey = SigningKey.generate();
    Map<String, PublicKeyEntry> keys = new LinkedHashMap<>();
    for (SigningKey k : List.of(rootKey, releaseKey, rolloutKey)) {
      keys.put(k.keyId(), PublicKeyEntry.ed25519(k.publicKey().getEncoded()));
    }
    trust = TrustRoot.of(1, expires, keys, Map.of(
        Role.ROOT, new RoleKeys(List.of(rootKey.keyId()), 1),
        Role.RELEASE, new RoleKeys(List.of(releaseKey.keyId()), 1),
        Role.ROLLOUT, new RoleKeys(List.of(rolloutKey.keyId()), 1)));
    trustRootFile = secrets.resolve("root.json");
    Files.write(trustRootFile, Envelopes.sign(DocumentType.ROOT, trust, List.of(rootKey)));
    rolloutKeyFile = secret("rollout.key", rolloutKey.toPem());
    nodeSecretFile = secret("node-secret", random());
    publishToken = random();
    publishTokenFile = secret("publish-token", publishToken);
    viewerToken = random();
    operatorsFile = secret("operators", "bench viewer " + viewerToken + "\n");
  }

  private Path secret(String name, String content) throws IOException {
    Path file = secrets.resolve(name);
    Files.writeString(file, content, StandardCharsets.US_ASCII);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  private static String random() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** The plan under test: batches, one canary node, {@code minAvailable}, bake, no approval, manual rollback. */
  static RolloutPlan plan(int minAvailablePercent, Duration bake) {
    return new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, minAvailablePercent, bake.toSeconds(), null, null, 1,
        null, null, null, RolloutPlan.Approval.AUTO, null);
  }

  /** A release's documents, ready to publish. */
  record Release(String version, byte[] blob, byte[] manifest, byte[] pointer) {}

  Release release(String version, long sequence, RolloutPlan plan) {
    byte[] pkg = ("the package of " + APP + " " + version + "\n").getBytes(StandardCharsets.UTF_8);
    String sha = Hashes.sha256(pkg);
    ReleaseManifest manifest = ReleaseManifest.of(APP, version, sequence, Instant.now().truncatedTo(ChronoUnit.SECONDS),
        expires, new PayloadTree(List.of(TreeEntry.file("app.jar", pkg.length, sha, false))),
        new BlobRef(sha, pkg.length), List.of(), plan, null);
    byte[] manifestBytes = Envelopes.sign(DocumentType.RELEASE, manifest, List.of(releaseKey));
    byte[] pointer = Envelopes.sign(DocumentType.CHANNEL, ChannelPointer.of(APP, CHANNEL, version, sequence, expires,
        new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length), null), List.of(releaseKey));
    return new Release(version, pkg, manifestBytes, pointer);
  }

  /** Publishes the blob and the manifest (a release nobody follows yet). */
  void upload(URI server, Release release) {
    put(server.resolve("v1/blobs/" + Hashes.sha256(release.blob())), release.blob(), Map.of());
    put(server.resolve("v1/apps/" + APP + "/releases/" + release.version()), release.manifest(), Map.of());
  }

  /**
   * Moves the channel to {@code release}: the moment of publication.
   *
   * @param etag the current pointer's ETag, or null for the first pointer
   */
  void point(URI server, Release release, String etag) {
    put(server.resolve("v1/apps/" + APP + "/channels/" + CHANNEL), release.pointer(),
        etag == null ? Map.of("If-None-Match", "*") : Map.of("If-Match", etag));
  }

  /** The pointer's ETag as served now. */
  String pointerEtag(URI server) {
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(server.resolve("apps/" + APP + "/channels/" + CHANNEL + ".json"))
        .GET());
    if (r.statusCode() != 200) {
      throw new HarnessException("GET the channel pointer answered " + r.statusCode());
    }
    return r.headers().firstValue("ETag").orElseThrow(() -> new HarnessException("the pointer came without an ETag"));
  }

  /** {@code GET /v1/rollouts/<app>/<version>} as the viewer: the rollout report (JSON). */
  String report(URI server) {
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(server.resolve("v1/rollouts/" + APP + "/" + TO))
        .header("Authorization", "Bearer " + viewerToken).GET());
    if (r.statusCode() != 200) {
      throw new HarnessException("GET the rollout report answered " + r.statusCode() + ": "
          + new String(r.body(), StandardCharsets.UTF_8));
    }
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  private void put(URI uri, byte[] body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + publishToken)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(b::header);
    HttpResponse<byte[]> r = send(b);
    if (r.statusCode() != 200 && r.statusCode() != 201) {
      throw new HarnessException("PUT " + uri + " answered " + r.statusCode() + ": "
          + new String(r.body(), StandardCharsets.UTF_8));
    }
  }

  private static HttpResponse<byte[]> send(HttpRequest.Builder request) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    try {
      return client.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new HarnessException(request.build().uri() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted", e);
    }
  }
}
