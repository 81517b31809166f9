package io.upgradekit.it.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernel's TCP counters that explain a failed connect during a switch, read from Linux's
 * {@code /proc/net/netstat} (this network namespace, so every process on loopback here): a SYN
 * dropped because a listener's accept queue was full ({@code ListenOverflows}, {@code ListenDrops})
 * shows up at the client as a retransmitted SYN ({@code TCPSynRetrans}) a second later, which a
 * one-second connect timeout turns into a failure.
 *
 * @param values counter name to value; empty where {@code /proc} cannot be read
 */
public record TcpCounters(Map<String, Long> values) {
  private static final List<String> NAMES = List.of("ListenOverflows", "ListenDrops", "TCPSynRetrans",
      "TCPMigrateReqSuccess", "TCPMigrateReqFailure");

  public TcpCounters {
    values = Map.copyOf(values);
  }

  /** Now; empty when the file is missing or unreadable (not Linux). */
  public static TcpCounters read() {
    try {
      return parse(Files.readAllLines(Path.of("/proc/net/netstat")));
    } catch (IOException | RuntimeException e) {
      return new TcpCounters(Map.of());
    }
  }

  /** The {@code TcpExt:} header and value lines of {@code /proc/net/netstat}. */
  static TcpCounters parse(List<String> lines) {
    Map<String, Long> found = new LinkedHashMap<>();
    for (int i = 0; i + 1 < lines.size(); i++) {
      if (!lines.get(i).startsWith("TcpExt:") || !lines.get(i + 1).startsWith("TcpExt:")) {
        continue;
      }
      String[] names = lines.get(i).split("\\s+");
      String[] numbers = lines.get(i + 1).split("\\s+");
      for (int k = 1; k < Math.min(names.length, numbers.length); k++) {
        if (NAMES.contains(names[k])) {
          found.put(names[k], Long.parseLong(numbers[k]));
        }
      }
      break;
    }
    return new TcpCounters(found);
  }

  /** What grew from {@code before} to this, by name, in {@link #NAMES} order. */
  public Map<String, Long> since(TcpCounters before) {
    Map<String, Long> grown = new LinkedHashMap<>();
    for (String name : NAMES) {
      Long now = values.get(name);
      Long then = before.values.get(name);
      if (now != null && then != null) {
        grown.put(name, now - then);
      }
    }
    return grown;
  }
}
