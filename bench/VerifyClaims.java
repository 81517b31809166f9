import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.DocumentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads every claim file of a scope directory and counts what would be a double allocation: a slot
 * file whose number differs from its name, a node holding two slots, a node index that does not
 * name a slot held by that node. Run with the server jar on the class path:
 * {@code java -cp repo-server.jar bench/VerifyClaims.java DIR}. Prints "slots=N indexes=N double=N".
 */
public class VerifyClaims {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Map<Integer, String> slots = new HashMap<>();
    Map<String, Integer> byNode = new HashMap<>();
    int indexes = 0;
    int bad = 0;
    Pattern slotName = Pattern.compile("slot-(\\d+)\\.json");
    Pattern indexName = Pattern.compile("node-(.+)\\.json");
    Pattern indexSlot = Pattern.compile("\"slot\":(\\d+)");
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.toList();
    }
    for (Path file : files) {
      Matcher m = slotName.matcher(file.getFileName().toString());
      if (m.matches()) {
        Claim claim = Json.read(Files.readAllBytes(file), DocumentType.CLAIM, Claim.class);
        if (claim.slot() != Integer.parseInt(m.group(1))) {
          bad++;
        }
        slots.put(claim.slot(), claim.node());
        if (byNode.put(claim.node(), claim.slot()) != null) {
          bad++; // one node, two slots
        }
      }
    }
    for (Path file : files) {
      Matcher m = indexName.matcher(file.getFileName().toString());
      if (m.matches()) {
        indexes++;
        Matcher s = indexSlot.matcher(Files.readString(file));
        if (!s.find() || !m.group(1).equals(slots.get(Integer.parseInt(s.group(1))))) {
          bad++; // an index that does not name its node's slot
        }
      }
    }
    if (indexes != slots.size()) {
      bad += Math.abs(indexes - slots.size());
    }
    System.out.println("slots=" + slots.size() + " indexes=" + indexes + " double=" + bad);
  }
}
