package io.upgradekit.schema.sign;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The documents of the published test vectors, built from fixed values and signed with the RFC
 * 8032 test key, so that another implementation can check its canonical encoding, signatures and
 * verification against ours byte for byte.
 */
public final class TestVectors {
  public static final Instant CREATED = Instant.parse("2026-11-22T00:00:00Z");
  public static final Instant EXPIRES = Instant.parse("2099-01-01T00:00:00Z");

  /** File name (without extension) to document: payloads of every type, in a stable order. */
  public static Map<String, Object> documents() throws Exception {
    SigningKey key = Ed25519Test.rfc8032Key();
    Map<String, Object> documents = new LinkedHashMap<>();
    TrustRoot root = TrustRoot.of(1, EXPIRES,
        Map.of(key.keyId(), PublicKeyEntry.ed25519(key.publicKey().getEncoded())),
        Map.of(Role.ROOT, new RoleKeys(List.of(key.keyId()), 1),
            Role.RELEASE, new RoleKeys(List.of(key.keyId()), 1),
            Role.ROLLOUT, new RoleKeys(List.of(key.keyId()), 1)));
    documents.put("root", root);
    PayloadTree tree = new PayloadTree(List.of(
        TreeEntry.file("bin/hello", 5, Hashes.sha256("hello".getBytes(StandardCharsets.UTF_8)), true),
        TreeEntry.file("lib/hello-service-1.0.0.jar", 0, Hashes.sha256(new byte[0]), false),
        TreeEntry.symlink("lib/hello-service.jar", "hello-service-1.0.0.jar"),
        TreeEntry.directory("logs")));
    RolloutPlan plan = new RolloutPlan(
        List.of(new RolloutPlan.Component("hello-service", "1.0.0", null)),
        RolloutPlan.Strategy.BATCHES, 75, 300L, new RolloutPlan.RollbackPolicy("auto", 3.0, 2.0, 300L));
    ReleaseManifest release = ReleaseManifest.of("hello-service", "1.0.0", 2, CREATED, EXPIRES, tree,
        new BlobRef(Hashes.sha256("package".getBytes(StandardCharsets.UTF_8)), 7),
        List.of(new DeltaRef("0.9.0", Hashes.sha256("base tree".getBytes(StandardCharsets.UTF_8)),
            new BlobRef(Hashes.sha256("delta".getBytes(StandardCharsets.UTF_8)), 5))),
        plan, Map.of("commit", "0123abc"));
    documents.put("release", release);
    byte[] releaseEnvelope = Envelopes.sign(DocumentType.RELEASE, release, List.of(key));
    documents.put("channel", ChannelPointer.of("hello-service", "stable", "1.0.0", 3, EXPIRES,
        new BlobRef(Hashes.sha256(releaseEnvelope), releaseEnvelope.length), List.of("0.9.0")));
    documents.put("release-set", ReleaseSet.of("shop", "2026.11", 1795305600L, CREATED, EXPIRES, List.of(
        new ReleaseSet.Component("database", "2.0.0", List.of()),
        new ReleaseSet.Component("cache", "2.0.0", List.of("database")),
        new ReleaseSet.Component("api", "2.1.0", List.of("cache")),
        new ReleaseSet.Component("gateway", "2.0.3", List.of("api"))),
        ReleaseSet.Strategy.ROLLING, ReleaseSet.Rollback.AUTO,
        List.of(ReleaseSet.Contract.parse("api 2.x requires cache >= 2.0"))));
    documents.put("rollout", new RolloutState("rollout", "hello-service", "1.0.0", 1, EXPIRES,
        RolloutState.Action.PROCEED, 1, null));
    documents.put("set-state", new SetState("set-state", "shop", "2026.11", 7, EXPIRES, SetState.Status.RUNNING, false,
        List.of(new SetState.Component("database", "2.0.0", SetState.ComponentStatus.COMPLETE, null),
            new SetState.Component("cache", "2.0.0", SetState.ComponentStatus.ROLLING, null),
            new SetState.Component("api", "2.1.0", SetState.ComponentStatus.WAITING, List.of("cache")),
            new SetState.Component("gateway", "2.0.3", SetState.ComponentStatus.WAITING, List.of("api"))),
        List.of(new SetState.AppFleet("cache", 2, Map.of("1.4", 1, "2.0.0", 1))), 3L));
    documents.put("set-decision", SetDecision.of("shop", "2026.11", 3, CREATED, "controller",
        SetDecision.Kind.START_COMPONENTS, "database completed healthy: starting cache", List.of("cache")));
    documents.put("claim", Claim.of("hello-service", "1.0.0", "wave-1", 0, "node-01", CREATED));
    documents.put("feedback", new Feedback("feedback", "evt-01", 3, "node-01", "hello-service", "0.9.0", "1.0.0",
        "END", "COMMITTED",
        List.of(new StepReport("DOWNLOAD", CREATED, 120, "OK", null, null),
            new StepReport("SWITCH", CREATED.plusMillis(500), 3, "OK", null, null)),
        null, null, Map.of("baseline.error_rate", 0.001, "watch.error_rate", 0.0), CREATED.plusSeconds(2)));
    return documents;
  }

  /** The document type whose type name ({@code release-set}) a vector file is named after. */
  public static DocumentType typeOf(String name) {
    for (DocumentType type : DocumentType.values()) {
      if (type.typeName().equals(name)) {
        return type;
      }
    }
    throw new IllegalArgumentException("no document type " + name);
  }

  /** The envelope bytes of a signed document type, signed with the RFC 8032 key. */
  public static byte[] envelope(String name, Object document) throws Exception {
    return Envelopes.sign(typeOf(name), document, List.of(Ed25519Test.rfc8032Key()));
  }

  public static byte[] payload(Object document) {
    return Json.canonicalBytes(document);
  }

  private TestVectors() {}
}
