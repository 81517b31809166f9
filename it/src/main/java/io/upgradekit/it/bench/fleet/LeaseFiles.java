package io.upgradekit.it.bench.fleet;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.sign.Envelopes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What the lease files of a directory store say after a run, independently of the simulator: grants,
 * confirmations and releases, and whether any node was confirmed on two grants (a node updated
 * twice, or a slot handed over while held) or any grant file names a slot other than its own.
 */
final class LeaseFiles {
  private LeaseFiles() {}

  /**
   * @param grants grant files
   * @param confirmed confirmation marks
   * @param released release marks
   * @param nodesConfirmedTwice nodes with more than one confirmed grant
   * @param misplaced grant files whose content names another slot or generation than their path
   */
  record Summary(int grants, int confirmed, int released, int nodesConfirmedTwice, int misplaced) {
    String describe() {
      return grants + " grants, " + confirmed + " confirmed, " + released + " released, " + nodesConfirmedTwice
          + " nodes confirmed twice, " + misplaced + " misplaced";
    }
  }

  static Summary read(Path root, String app, String version) throws IOException {
    Path leases = root.resolve("rollouts").resolve(app).resolve(version).resolve("leases");
    if (!Files.isDirectory(leases)) {
      return new Summary(0, 0, 0, 0, 0);
    }
    int grants = 0;
    int confirmed = 0;
    int released = 0;
    int misplaced = 0;
    Map<String, Integer> confirmedPerNode = new HashMap<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(leases)) {
      files = walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    Map<Path, LeaseGrant> byFile = new HashMap<>();
    for (Path f : files) {
      String name = f.getFileName().toString();
      if (name.matches("\\d+\\.json")) {
        grants++;
        LeaseGrant g = Json.read(Envelopes.parse(Files.readAllBytes(f), DocumentType.LEASE).payloadBytes(),
            LeaseGrant.class, "lease");
        byFile.put(f, g);
        String slot = f.getParent().getFileName().toString();
        if (!slot.equals("slot-" + g.slot()) || !name.equals(g.generation() + ".json")) {
          misplaced++;
        }
      } else if (name.endsWith(".released.json")) {
        released++;
      }
    }
    for (Path f : files) {
      String name = f.getFileName().toString();
      if (name.endsWith(".confirmed.json")) {
        confirmed++;
        LeaseGrant g = byFile.get(f.resolveSibling(name.replace(".confirmed.json", ".json")));
        if (g != null) {
          confirmedPerNode.merge(g.kind() + " " + g.node(), 1, Integer::sum);
        }
      }
    }
    int twice = (int) confirmedPerNode.values().stream().filter(c -> c > 1).count();
    return new Summary(grants, confirmed, released, twice, misplaced);
  }
}
