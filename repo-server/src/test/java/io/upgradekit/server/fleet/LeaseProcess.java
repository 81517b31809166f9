package io.upgradekit.server.fleet;

import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.server.core.Caller;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * Another repo-server process's lease service on the same repository, in its own JVM (nothing
 * shared in memory), for {@link LeaseTablesTest}. Arguments: the repository, the instant its clock
 * stands at, the rollout key's PEM file. Reads commands from stdin, one per line, and answers each
 * with one line:
 *
 * <ul>
 *   <li>{@code ask NODE} → {@code granted SLOT GENERATION} or {@code wait CODE};
 *   <li>{@code confirm NODE SLOT GENERATION}, {@code release NODE SLOT GENERATION} → the answer's
 *       status.
 * </ul>
 */
public final class LeaseProcess {
  private LeaseProcess() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    Clock clock = Clock.fixed(Instant.parse(args[1]), ZoneOffset.UTC);
    SigningKey key = SigningKey.fromPem(Files.readString(Path.of(args[2]), StandardCharsets.US_ASCII));
    try (DirectoryStore store = new DirectoryStore(root)) {
      byte[] rootBytes = store.read(RepositoryLayout.trustRoot(), DocumentType.ROOT.maxBytes()).orElseThrow().bytes();
      TrustRoot trust = Json.read(Envelopes.parse(rootBytes, DocumentType.ROOT).payloadBytes(), TrustRoot.class,
          "trust root");
      LiveRollouts rollouts = new LiveRollouts(store, () -> trust, clock, System.err::println);
      LeaseService leases = new LeaseService(store, new Decisions(store), rollouts, new Inventory(100),
          RolloutKey.of(key), clock, 4);
      BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      System.out.println("ready");
      System.out.flush();
      for (String line = stdin.readLine(); line != null; line = stdin.readLine()) {
        String[] c = line.trim().split(" ");
        Caller.Node node = new Caller.Node(c[1]);
        String out;
        if (c[0].equals("ask")) {
          LeaseAnswer a = leases.ask(node, LeaseRequest.ask("shop", "2.0", c[1], LeaseGrant.Kind.UPGRADE)).body();
          out = a.status() == LeaseAnswer.Status.GRANTED ? "granted " + grant(a).slot() + " " + grant(a).generation()
              : "wait " + a.code();
        } else {
          LeaseRequest held = new LeaseRequest("shop", "2.0", c[1], LeaseGrant.Kind.UPGRADE, Integer.parseInt(c[2]),
              Long.parseLong(c[3]), c[0].equals("release") ? "COMMITTED" : null);
          LeaseService.Answer a = c[0].equals("confirm") ? leases.confirm(node, held) : leases.release(node, held);
          out = a.body().status().name().toLowerCase(java.util.Locale.ROOT);
        }
        System.out.println(out);
        System.out.flush();
      }
    }
  }

  private static LeaseGrant grant(LeaseAnswer answer) {
    return Json.read(Envelopes.parse(answer.grant().getBytes(StandardCharsets.UTF_8), DocumentType.LEASE)
        .payloadBytes(), LeaseGrant.class, "lease");
  }
}
