package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.sign.Envelopes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rollout's files in the repository, read the way an auditor would, without the server: its
 * decisions ({@code rollouts/<app>/<version>/decisions/<n>.json}) and its leases ({@code
 * .../leases/<kind>/slot-<n>/<g>.json}, {@code <g>.confirmed.json}, {@code <g>.released.json}).
 * The checks here are the promises docs/rollouts.md makes about them: decisions 1..n without gaps,
 * each taking effect once; no slot given to two holders at once.
 */
final class RolloutFiles {
  private static final Pattern DECISION = Pattern.compile("(\\d+)\\.json");
  private static final Pattern GRANT = Pattern.compile("(\\d+)\\.json");

  private RolloutFiles() {}

  /** A confirmation or release mark. */
  record Mark(String node, Instant at, String outcome) {}

  /**
   * One generation of one slot.
   *
   * @param grantedAt when the grant file was written (its modification time, the server's clock)
   * @param confirmed its confirmation, or null
   * @param released its release, or null
   */
  record Lease(String kind, int slot, long generation, LeaseGrant grant, Instant grantedAt, Mark confirmed,
      Mark released) {
    String node() {
      return grant.node();
    }

    @Override
    public String toString() {
      return kind + " slot " + slot + " generation " + generation + " to " + grant.node() + " (granted " + grantedAt
          + ", confirmed " + (confirmed == null ? "-" : confirmed.at()) + ", released "
          + (released == null ? "-" : released.at() + " " + released.outcome()) + ")";
    }
  }

  /** The decision files' names, sorted by number (to check for gaps). */
  static List<Long> decisionNumbers(Path repository, String app, String version) {
    Path dir = repository.resolve(RepositoryLayout.rolloutDecisions(app, version));
    List<Long> out = new ArrayList<>();
    for (String name : Scenarios.list(dir)) {
      Matcher m = DECISION.matcher(name);
      if (m.matches()) {
        out.add(Long.parseLong(m.group(1)));
      } else if (!name.startsWith(".")) {
        throw new AssertionError("an unexpected file among the decisions of " + app + " " + version + ": " + name);
      }
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  /** Every decision, in sequence order. */
  static List<RolloutDecision> decisions(Path repository, String app, String version) {
    List<RolloutDecision> out = new ArrayList<>();
    for (long n : decisionNumbers(repository, app, version)) {
      Path file = repository.resolve(RepositoryLayout.rolloutDecision(app, version, n));
      out.add(Json.read(read(file), DocumentType.DECISION, RolloutDecision.class));
    }
    return out;
  }

  /** The first decision of {@code kind} (and {@code wave}, if not null), or null. */
  static RolloutDecision first(List<RolloutDecision> decisions, RolloutDecision.Kind kind, Integer wave) {
    return decisions.stream().filter(d -> d.kind() == kind && (wave == null || wave.equals(d.wave()))).findFirst()
        .orElse(null);
  }

  /**
   * Decisions 1..n without gaps, each file's sequence its name, and every action that may happen
   * once per rollout (start, complete, recalled) or once per wave (open-wave, wave-done,
   * recall-wave) stored once: what "decisions taken once" means across server processes.
   *
   * @return the decisions
   */
  static List<RolloutDecision> assertTakenOnce(Path repository, String app, String version) {
    List<Long> numbers = decisionNumbers(repository, app, version);
    List<Long> expected = new ArrayList<>();
    for (long i = 1; i <= numbers.size(); i++) {
      expected.add(i);
    }
    assertThat(numbers).as("decision files of " + app + " " + version + ": 1..n without gaps").isEqualTo(expected);
    List<RolloutDecision> all = decisions(repository, app, version);
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i).sequence()).as("decision file " + (i + 1) + "'s sequence").isEqualTo(i + 1);
    }
    Map<String, List<Long>> once = new LinkedHashMap<>();
    for (RolloutDecision d : all) {
      String key = switch (d.kind()) {
        case START, COMPLETE, RECALLED -> d.kind().name();
        case OPEN_WAVE, WAVE_DONE, RECALL_WAVE -> d.kind().name() + " " + d.wave();
        default -> null;
      };
      if (key != null) {
        once.computeIfAbsent(key, k -> new ArrayList<>()).add(d.sequence());
      }
    }
    Map<String, List<Long>> twice = new LinkedHashMap<>();
    once.forEach((k, v) -> {
      if (v.size() > 1) {
        twice.put(k, v);
      }
    });
    assertThat(twice).as("actions of " + app + " " + version + " stored more than once (decision numbers)").isEmpty();
    return all;
  }

  /** Every lease of the rollout, by kind, slot and generation. */
  static List<Lease> leases(Path repository, String app, String version) {
    List<Lease> out = new ArrayList<>();
    for (String kind : List.of("upgrade", "recall")) {
      for (int slot = 0; ; slot++) {
        Path dir = repository.resolve(RepositoryLayout.leaseSlot(app, version, kind, slot));
        if (!Files.isDirectory(dir)) {
          break;
        }
        for (String name : Scenarios.list(dir)) {
          Matcher m = GRANT.matcher(name);
          if (!m.matches()) {
            continue;
          }
          long g = Long.parseLong(m.group(1));
          Path file = dir.resolve(name);
          LeaseGrant grant = Json.read(Envelopes.parse(read(file), DocumentType.LEASE).payloadBytes(), LeaseGrant.class,
              file.toString());
          out.add(new Lease(kind, slot, g, grant, modified(file),
              mark(repository.resolve(RepositoryLayout.leaseConfirmed(app, version, kind, slot, g))),
              mark(repository.resolve(RepositoryLayout.leaseReleased(app, version, kind, slot, g)))));
        }
      }
    }
    out.sort(Comparator.comparing(Lease::kind).thenComparingInt(Lease::slot).thenComparingLong(Lease::generation));
    return out;
  }

  /**
   * No slot was given twice: per slot the generations are 1..g, each grant names that slot and
   * generation, and generation g+1 was granted only after generation g was given back (its release
   * mark is older than the next grant's file), so no two holders ever held one slot at once. A
   * generation never given back counts only as the slot's newest, or as one that ran out (its
   * holder lost it: {@code expired} lists those allowed).
   */
  static void assertNoSlotGivenTwice(List<Lease> leases, List<String> expiredAllowed) {
    Map<String, List<Lease>> bySlot = new LinkedHashMap<>();
    leases.forEach(l -> bySlot.computeIfAbsent(l.kind() + " slot " + l.slot(), k -> new ArrayList<>()).add(l));
    List<String> problems = new ArrayList<>();
    bySlot.forEach((slot, generations) -> {
      for (int i = 0; i < generations.size(); i++) {
        Lease l = generations.get(i);
        if (l.generation() != i + 1 || l.grant().generation() != l.generation() || l.grant().slot() != l.slot()) {
          problems.add(slot + ": file " + l.generation() + " holds " + l.grant());
        }
        if (i + 1 < generations.size()) {
          Lease next = generations.get(i + 1);
          if (l.released() == null) {
            if (!expiredAllowed.contains(l.node())) {
              problems.add(slot + ": " + l + " was never given back, yet " + next + " was granted");
            }
          } else if (l.released().at().isAfter(next.grantedAt())) {
            problems.add(slot + ": " + next + " was granted before " + l + " was given back");
          }
        }
      }
    });
    assertThat(problems).as("slots given twice").isEmpty();
  }

  /** How many grants of each node (a node granted twice for one release lost or retried a slot). */
  static Map<String, Integer> grantsPerNode(List<Lease> leases, String kind) {
    Map<String, Integer> out = new HashMap<>();
    leases.stream().filter(l -> l.kind().equals(kind)).forEach(l -> out.merge(l.node(), 1, Integer::sum));
    return out;
  }

  private static Mark mark(Path file) {
    if (!Files.exists(file)) {
      return null;
    }
    return JsonSupport.read(new String(read(file), java.nio.charset.StandardCharsets.UTF_8), Mark.class, file.toString());
  }

  private static Instant modified(Path file) {
    try {
      return Files.getLastModifiedTime(file).toInstant();
    } catch (IOException e) {
      throw new HarnessException("cannot stat " + file + ": " + e, e);
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new HarnessException("cannot read " + file + ": " + e, e);
    }
  }
}
