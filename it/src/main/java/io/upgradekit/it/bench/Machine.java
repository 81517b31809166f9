package io.upgradekit.it.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;

/** What a benchmark result needs beside it: the machine, the JVM, the load and the kernel setting that matters. */
final class Machine {
  private Machine() {}

  /** Date, cores, CPU model, memory, Java, load average and {@code net.ipv4.tcp_migrate_req}, one per line. */
  static String describe() {
    return "Date: " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\n"
        + "Machine: " + Runtime.getRuntime().availableProcessors() + " cores (nproc), " + cpuModel() + ", "
        + memory() + " memory\n"
        + "Java: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
        + " (" + System.getProperty("java.vendor") + "), the same for every process\n"
        + "Load average before: " + loadAverage() + "\n"
        + "net.ipv4.tcp_migrate_req = " + read("/proc/sys/net/ipv4/tcp_migrate_req").strip()
        + " (1: connections queued on a closing SO_REUSEPORT listener move to another)";
  }

  /** The 1-, 5- and 15-minute load averages. */
  static String loadAverage() {
    String[] parts = read("/proc/loadavg").split("\\s+");
    return parts.length >= 3 ? parts[0] + " " + parts[1] + " " + parts[2] : "unknown";
  }

  static double loadAverage1() {
    try {
      return Double.parseDouble(read("/proc/loadavg").split("\\s+")[0]);
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  private static String cpuModel() {
    return read("/proc/cpuinfo").lines().filter(l -> l.startsWith("model name")).findFirst()
        .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown CPU");
  }

  private static String memory() {
    List<String> lines = read("/proc/meminfo").lines().filter(l -> l.startsWith("MemTotal:")).toList();
    if (lines.isEmpty()) {
      return "unknown";
    }
    String[] parts = lines.get(0).split("\\s+");
    try {
      return String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(parts[1]) / 1024.0 / 1024.0);
    } catch (RuntimeException e) {
      return "unknown";
    }
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "unknown";
    }
  }
}
