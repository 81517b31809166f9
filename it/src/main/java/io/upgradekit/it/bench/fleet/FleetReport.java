package io.upgradekit.it.bench.fleet;

import io.upgradekit.it.bench.fleet.Recorder.Endpoint;
import io.upgradekit.it.bench.fleet.Recorder.Phase;
import io.upgradekit.schema.model.RolloutDecision;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code bench/fleet.sh}'s tables, in Markdown: the run's figures each beside its ideal or goal,
 * the per-endpoint latencies of the idle fleet and of the rollout, and the waves as the nodes lived
 * them (first grant, last healthy, and the gap to the next wave, whose ideal is the bake time).
 *
 * @param steadySeconds length of the idle window
 * @param rolloutSeconds publication → every node healthy (or the timeout)
 * @param steadyServerCpuMillis CPU of every server process over the idle window, per process
 * @param rolloutServerCpuMillis the same over the rollout
 * @param steadyOwnCpuMillis the simulator's own CPU over the idle window
 * @param rolloutOwnCpuMillis the same over the rollout
 * @param serverMemoryMiB per process: resident and peak resident memory at the end
 * @param decisions the rollout's decisions as the server reports them, oldest first
 * @param publishedAt wall-clock time of the publication
 * @param disk what the lease files on disk say, or null when the store is not a directory
 * @param gcPauses per process: the collector's pauses over the whole run (count, sum and longest, ms)
 */
record FleetReport(FleetOptions options, String machine, String loadBefore, String loadAfter, boolean finished,
    double steadySeconds, double rolloutSeconds, List<Long> steadyServerCpuMillis, List<Long> rolloutServerCpuMillis,
    long steadyOwnCpuMillis, long rolloutOwnCpuMillis, List<long[]> serverMemoryMiB, Recorder recorder,
    Simulator.Outcome sim, List<RolloutDecision> decisions, Instant publishedAt, LeaseFiles.Summary disk,
    List<double[]> gcPauses) {

  static final long P99_GOAL_MICROS = 50_000;

  void print(PrintStream out) {
    int n = options.nodes();
    int waves = sim.waves();
    double ideal = waves * (options.update().toMillis() + options.bake().toMillis()) / 1000.0;
    out.println("### Fleet rollout: " + options.describe());
    out.println();
    out.println("```");
    out.println(machine);
    out.println("Load average before: " + loadBefore + "; after: " + loadAfter);
    out.println("repo-server JVM: " + String.join(" ", options.serverJvm()) + "; controller interval 2 s (default)");
    out.println("```");
    out.println();
    if (!finished) {
      out.println("**The rollout did not finish within " + FleetOptions.seconds(options.timeout()) + ".**");
      out.println();
    }
    long rolloutCpu = sum(rolloutServerCpuMillis);
    long steadyCpu = sum(steadyServerCpuMillis);
    double rolloutCores = rolloutCpu / 1000.0 / rolloutSeconds;
    double steadyCores = steadyCpu / 1000.0 / steadySeconds;
    long rolloutRequests = recorder.requests(Phase.ROLLOUT);
    long steadyRequests = recorder.requests(Phase.STEADY);
    long worstP99 = 0;
    String worst = "";
    for (Endpoint e : Endpoint.values()) {
      Recorder.Figures f = recorder.figures(Phase.ROLLOUT, e);
      if (e != Endpoint.CALLS && f.requests() > 0 && f.p99Micros() > worstP99) {
        worstP99 = f.p99Micros();
        worst = e.label;
      }
    }
    SimNode canary = null;
    for (SimNode node : sim.nodes()) {
      if (node.wave == 0) {
        canary = node;
      }
    }
    Instant start = decisionAt(RolloutDecision.Kind.START);

    out.println("| figure | measured | ideal or reference | goal |");
    out.println("|---|---:|---|---|");
    row(out, "publication → every node healthy", finished ? secs(rolloutSeconds) : "> " + secs(rolloutSeconds),
        "ideal " + secs(ideal) + " (" + waves + " waves × (" + FleetOptions.seconds(options.update()) + " + "
            + FleetOptions.seconds(options.bake()) + "))",
        "≤ " + secs(ideal * 1.1) + ": " + (finished && rolloutSeconds <= ideal * 1.1 ? "**met**" : "**missed**")
            + String.format(Locale.ROOT, " (%+.0f%%)", 100 * (rolloutSeconds / ideal - 1)));
    if (canary != null && canary.noticedNanos > 0) {
      row(out, "publication → the canary node saw the release", secs(nanos(canary.noticedNanos - sim.publishedNanos())),
          "its next poll: 0 to " + FleetOptions.seconds(options.poll().plus(options.pollJitter())), "");
    }
    if (start != null && finished) {
      double fromStart = rolloutSeconds - Duration.between(publishedAt, start).toMillis() / 1000.0;
      row(out, "rollout start (decision 1) → every node healthy", secs(fromStart), "ideal " + secs(ideal),
          String.format(Locale.ROOT, "%+.0f%%", 100 * (fromStart / ideal - 1)));
    }
    row(out, "nodes between STOP and healthy at most (simulator's view)", Integer.toString(sim.maxBetween()),
        "budget " + sim.budget() + " (fleet − ⌈" + options.minAvailablePercent() + "%⌉; the server said "
            + sim.serverBudget() + ")", "≤ budget: " + (sim.violations() == 0 ? "**met**" : "**missed**"));
    row(out, "budget violations (moments over the budget)", Integer.toString(sim.violations()), "", "0");
    row(out, "slots granted twice / held twice at once", sim.doubleGrants() + " / " + sim.doubleHolds()
        + (disk == null ? "" : "; on disk: " + disk.describe()), "", "0");
    row(out, "grants / lost before STOP / not obeyed yet (the node's copy of the state was behind; asked again 1 s later)",
        sim.grants() + " / " + sim.lostBeforeStop() + " / " + sim.grantsRefused(), n + " nodes", "");
    row(out, "calls answered during the rollout (a node polled at once)", options.calls()
        ? Integer.toString(sim.calls()) : "off (--no-calls)", "", "");
    row(out, "server CPU during the rollout", String.format(Locale.ROOT, "%.2f cores (%.1f CPU-s)", rolloutCores,
        rolloutCpu / 1000.0), perServer(rolloutServerCpuMillis), "");
    row(out, "server CPU per 1,000 nodes, rollout / idle fleet", String.format(Locale.ROOT, "%.3f / %.3f cores",
        rolloutCores * 1000 / n, steadyCores * 1000 / n), "", "");
    row(out, "requests/s, rollout / idle fleet", String.format(Locale.ROOT, "%.0f / %.0f",
        rolloutRequests / rolloutSeconds, steadyRequests / steadySeconds), "", "");
    row(out, "requests per node per minute, rollout / idle fleet", String.format(Locale.ROOT, "%.2f / %.2f",
        rolloutRequests * 60.0 / n / rolloutSeconds, steadyRequests * 60.0 / n / steadySeconds),
        "idle: " + String.format(Locale.ROOT, "%.1f", 60.0 / options.poll().toSeconds() + 60.0
            / options.heartbeat().toSeconds() + (options.calls() ? 60.0 / 25 : 0)) + " (a poll and a heartbeat per"
            + " interval" + (options.calls() ? ", a held call request per 25 s" : "") + ")", "");
    row(out, "p99 latency, worst endpoint during the rollout", millis(worstP99) + " (" + worst + ")", "",
        "< 50 ms: " + (worstP99 < P99_GOAL_MICROS ? "**met**" : "**missed**"));
    row(out, "simulator CPU (same machine), rollout / idle", String.format(Locale.ROOT, "%.2f / %.2f cores",
        rolloutOwnCpuMillis / 1000.0 / rolloutSeconds, steadyOwnCpuMillis / 1000.0 / steadySeconds), "", "");
    StringBuilder mem = new StringBuilder();
    for (long[] m : serverMemoryMiB) {
      mem.append(mem.length() == 0 ? "" : ", ").append(m[0]).append(" MiB (peak ").append(m[1]).append(")");
    }
    row(out, "server resident memory at the end", mem.toString(), "", "");
    StringBuilder gc = new StringBuilder();
    for (double[] p : gcPauses) {
      gc.append(gc.length() == 0 ? "" : "; ").append(String.format(Locale.ROOT, "%.0f pauses, %.1f s in all, longest %.0f ms",
          p[0], p[1] / 1000, p[2]));
    }
    row(out, "server GC pauses over the whole run", gc.toString(), "", "");
    row(out, "bytes per node per minute, received / sent by the node", String.format(Locale.ROOT, "%.0f / %.0f",
        sim.bytesIn() * 60.0 / n / (rolloutSeconds + steadySeconds), sim.bytesOut() * 60.0 / n
            / (rolloutSeconds + steadySeconds)), "bodies only, idle and rollout together", "");
    row(out, "bytes per node per minute, idle fleet, received / sent", String.format(Locale.ROOT, "%.0f / %.0f",
        sim.steadyBytesIn() * 60.0 / n / steadySeconds, sim.steadyBytesOut() * 60.0 / n / steadySeconds),
        "bodies only (HTTP headers come on top)", "");
    out.println();

    out.println("Per endpoint (client-side latency, from the request handed to the HTTP client to the whole answer):");
    out.println();
    out.println("| endpoint | phase | requests | req/s | 304 | errors | p50 | p99 | max |");
    out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (Phase phase : List.of(Phase.STEADY, Phase.ROLLOUT)) {
      double seconds = phase == Phase.STEADY ? steadySeconds : rolloutSeconds;
      for (Endpoint e : Endpoint.values()) {
        Recorder.Figures f = recorder.figures(phase, e);
        if (f.requests() == 0) {
          continue;
        }
        out.printf(Locale.ROOT, "| %s | %s | %,d | %.1f | %,d | %d | %s | %s | %s |%n", e.label,
            phase.name().toLowerCase(Locale.ROOT), f.requests(), f.requests() / seconds, f.notModified(), f.errors(),
            millis(f.p50Micros()), millis(f.p99Micros()), millis(f.maxMicros()));
      }
    }
    out.println();
    if (!sim.waits().isEmpty()) {
      out.println("Waits told to the nodes during the rollout (lease answers `wait`): " + String.join("; ",
          sim.waits().entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()) + ".");
      out.println();
    }
    waves(out);
    if (!decisions.isEmpty()) {
      out.println();
      out.println("Decisions (seconds after the publication): " + decisionLine());
    }
    if (sim.problems() > 0) {
      out.println();
      out.println("Problems seen by the simulator: " + sim.problems() + "; the first ones:");
      sim.firstProblems().forEach(p -> out.println("* " + p));
    }
  }

  private void waves(PrintStream out) {
    Map<Integer, List<SimNode>> byWave = new TreeMap<>();
    for (SimNode node : sim.nodes()) {
      if (node.wave >= 0) {
        byWave.computeIfAbsent(node.wave, w -> new ArrayList<>()).add(node);
      }
    }
    if (byWave.isEmpty()) {
      return;
    }
    out.println("Waves as the nodes lived them (seconds after the publication; the gap is the last healthy node of a"
        + " wave → the first grant of the next, ideally the bake time, " + FleetOptions.seconds(options.bake()) + "):");
    out.println();
    out.println("| wave | nodes | first grant | last STOP | last healthy | open → all healthy | gap to the next wave |");
    out.println("|---:|---:|---:|---:|---:|---:|---:|");
    List<String> rows = new ArrayList<>();
    double[] firsts = new double[byWave.size()];
    double[] lasts = new double[byWave.size()];
    int i = 0;
    for (Map.Entry<Integer, List<SimNode>> e : byWave.entrySet()) {
      double first = Double.MAX_VALUE;
      double lastStop = 0;
      double last = 0;
      int done = 0;
      for (SimNode node : e.getValue()) {
        done += node.healthyNanos > 0 ? 1 : 0;
        if (node.grantedNanos > 0) {
          first = Math.min(first, rel(node.grantedNanos));
        }
        lastStop = Math.max(lastStop, rel(node.stoppedNanos));
        last = Math.max(last, rel(node.healthyNanos));
      }
      firsts[i] = first;
      lasts[i] = last;
      if (done < e.getValue().size()) {
        firsts[i] = first == Double.MAX_VALUE ? Double.NaN : first;
        lasts[i] = Double.NaN;
        rows.add(String.format(Locale.ROOT, "| %d | %d | %s | - | - | %d of %d healthy |", e.getKey() + 1,
            e.getValue().size(), Double.isNaN(firsts[i]) ? "-" : String.format(Locale.ROOT, "%.1f", first), done,
            e.getValue().size()));
        i++;
        continue;
      }
      rows.add(String.format(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.1f | %.1f |", e.getKey() + 1, e.getValue().size(),
          first, lastStop, last, last - first));
      i++;
    }
    for (int w = 0; w < rows.size(); w++) {
      String gap = w + 1 < rows.size() && !Double.isNaN(firsts[w + 1]) && !Double.isNaN(lasts[w])
          ? String.format(Locale.ROOT, "%.1f", firsts[w + 1] - lasts[w]) : "";
      out.println(rows.get(w) + " " + gap + " |");
    }
  }

  private String decisionLine() {
    List<String> parts = new ArrayList<>();
    for (RolloutDecision d : decisions) {
      parts.add(d.kind().name().toLowerCase(Locale.ROOT).replace('_', '-') + (d.wave() == null ? "" : " " + (d.wave() + 1))
          + " " + String.format(Locale.ROOT, "%.1f", Duration.between(publishedAt, d.at()).toMillis() / 1000.0));
    }
    return String.join(", ", parts);
  }

  private Instant decisionAt(RolloutDecision.Kind kind) {
    return decisions.stream().filter(d -> d.kind() == kind).map(RolloutDecision::at).findFirst().orElse(null);
  }

  private double rel(long nanos) {
    return nanos == 0 ? 0 : nanos(nanos - sim.publishedNanos());
  }

  private static double nanos(long n) {
    return n / 1e9;
  }

  private static String perServer(List<Long> cpu) {
    if (cpu.size() < 2) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    cpu.forEach(c -> parts.add(String.format(Locale.ROOT, "%.1f", c / 1000.0)));
    return "CPU-s per process: " + String.join(", ", parts);
  }

  private static long sum(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).sum();
  }

  private static void row(PrintStream out, String figure, String measured, String reference, String goal) {
    out.println("| " + figure + " | " + measured + " | " + reference + " | " + goal + " |");
  }

  static String secs(double s) {
    return String.format(Locale.ROOT, "%.1f s", s);
  }

  static String millis(long micros) {
    return micros < 10_000 ? String.format(Locale.ROOT, "%.1f ms", micros / 1000.0)
        : String.format(Locale.ROOT, "%.0f ms", micros / 1000.0);
  }
}
