package io.upgradekit.it.bench;

import io.upgradekit.it.load.LoadReport;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code bench/upgrade.sh}'s tables, in Markdown: per strategy a summary (min / median / max over
 * the rounds, each figure beside its reference and target), then every round, and for {@code
 * restart} where its gap went ({@link SwitchTimeline}); with held-socket strategies, a last table
 * puts each strategy with and without the held socket side by side.
 */
public final class BenchReport {
  /** The restart target: the gap may exceed the service's own start by this much. */
  public static final Duration RESTART_ALLOWANCE = Duration.ofMillis(500);

  private BenchReport() {}

  /**
   * One node's upgrade in one round.
   *
   * @param strategy the benchmark's strategy name ({@code restart}, {@code overlap}, ...)
   * @param round 1, 2, ...
   * @param node the node's id
   * @param from the version before
   * @param to the version published
   * @param loadAverage the 1-minute load average when it was published
   * @param rate requests per second to this node
   * @param load the load generator's figures for this node over the round
   * @param ownStart hello-service's own start, measured beside the node just before the round's load began
   * @param publishToFirstAnswer publication (channel pointer renamed into place) → the first answer
   *     from the new version
   * @param publishToCommitted publication → the updater committed (after its watch window)
   * @param stateMillis the update's time per state ({@code history --json})
   * @param timeline where the switch's time went
   */
  public record NodeRound(String strategy, int round, String node, String from, String to, double loadAverage,
      int rate, LoadReport.Stats load, OwnStart.Result ownStart, Duration publishToFirstAnswer,
      Duration publishToCommitted, Map<String, Long> stateMillis, SwitchTimeline timeline) {

    /** Gap minus the own start: the restart target wants at most {@link #RESTART_ALLOWANCE}. */
    public Duration gapOverOwnStart() {
      return load.longestGap().minus(ownStart.toHealthy());
    }

    public boolean restartTargetMet() {
      return gapOverOwnStart().compareTo(RESTART_ALLOWANCE) <= 0;
    }

    /** Whether the service's listening socket was held by the updater's launcher ({@code service.socket}). */
    public boolean heldSocket() {
      return strategy.endsWith(HELD_SOCKET);
    }

    /**
     * The held socket's target (issue 18): no request failed (a connection made while no version
     * accepts waits in the queue) and the gap is no longer than the service's own start.
     */
    public boolean heldSocketTargetMet() {
      return load.failed() == 0 && load.longestGap().compareTo(ownStart.toHealthy()) <= 0;
    }
  }

  /** The suffix of the strategies whose service socket the updater's launcher holds. */
  public static final String HELD_SOCKET = "-held-socket";

  /** Min, median (the mean of the middle two for an even count) and max; null for none. */
  public record Spread(Duration min, Duration median, Duration max) {
    public static Spread of(List<Duration> values) {
      List<Duration> sorted = values.stream().filter(v -> v != null).sorted().toList();
      if (sorted.isEmpty()) {
        return null;
      }
      int n = sorted.size();
      Duration median = n % 2 == 1 ? sorted.get(n / 2) : sorted.get(n / 2 - 1).plus(sorted.get(n / 2)).dividedBy(2);
      return new Spread(sorted.get(0), median, sorted.get(n - 1));
    }

    String cells(Function<Duration, String> format) {
      return format.apply(min) + " | " + format.apply(median) + " | " + format.apply(max);
    }
  }

  /** Prints every strategy's tables. */
  public static void print(PrintStream out, List<NodeRound> rounds) {
    if (!rounds.isEmpty()) {
      out.println("hello-service's JVM (bin/hello-service, as the updater starts it): "
          + rounds.get(0).ownStart().jvmFlags());
    }
    Map<String, List<NodeRound>> byStrategy = new LinkedHashMap<>();
    rounds.forEach(r -> byStrategy.computeIfAbsent(r.strategy(), k -> new ArrayList<>()).add(r));
    byStrategy.forEach((strategy, list) -> {
      summary(out, strategy, list);
      perRound(out, list);
      if (strategy.startsWith("restart")) {
        breakdown(out, list);
      }
    });
    if (rounds.stream().anyMatch(NodeRound::heldSocket)) {
      heldSocketComparison(out, byStrategy);
    }
  }

  /** Each strategy with and without the held socket, side by side: failures and the gap. */
  static void heldSocketComparison(PrintStream out, Map<String, List<NodeRound>> byStrategy) {
    out.printf(Locale.ROOT, "%n### With and without the held socket (service.socket)%n%n");
    out.println("| strategy | service socket | switches | failed requests (min / median / max) | of them refused "
        + "| longest gap (min / median / max) | own start (median) | gap − own start (median) | target |");
    out.println("|---|---|---:|---|---:|---|---:|---:|---|");
    byStrategy.forEach((strategy, list) -> {
      boolean held = list.get(0).heldSocket();
      String target;
      if (held && strategy.startsWith("restart")) {
        target = "0 failed, gap ≤ own start: " + verdict(list.stream().filter(NodeRound::heldSocketTargetMet).count(),
            list.size());
      } else if (strategy.startsWith("restart")) {
        target = "gap ≤ own start + 0.5 s: " + verdict(list.stream().filter(NodeRound::restartTargetMet).count(),
            list.size());
      } else {
        target = "0 failed: " + verdict(list.stream().filter(r -> r.load().failed() == 0).count(), list.size());
      }
      Spread gap = Spread.of(list.stream().map(r -> r.load().longestGap()).toList());
      out.printf(Locale.ROOT, "| %s | %s | %d | %s | %d | %s | %s | %s | %s |%n", strategy.replace(HELD_SOCKET, ""),
          held ? "held by the updater's launcher" : "each process binds its own", list.size(),
          counts(list.stream().map(r -> r.load().failed()).toList()).replace(" | ", " / "),
          list.stream().mapToInt(r -> r.load().failures().getOrDefault("refused", 0)).sum(),
          gap.cells(LoadReport::millis).replace(" | ", " / "),
          LoadReport.millis(Spread.of(list.stream().map(r -> r.ownStart().toHealthy()).toList()).median()),
          signedMillis(Spread.of(list.stream().map(NodeRound::gapOverOwnStart).toList()).median()), target);
    });
  }

  static void summary(PrintStream out, String strategy, List<NodeRound> list) {
    int rounds = (int) list.stream().mapToInt(NodeRound::round).distinct().count();
    int nodes = (int) list.stream().map(NodeRound::node).distinct().count();
    out.printf(Locale.ROOT, "%n### %s: %d round%s, %d node%s, %d requests/s per node%n%n", strategy, rounds,
        rounds == 1 ? "" : "s", nodes, nodes == 1 ? "" : "s", list.get(0).rate());
    out.println("| figure | min | median | max | reference | target |");
    out.println("|---|---:|---:|---:|---|---|");
    Spread gap = Spread.of(list.stream().map(r -> r.load().longestGap()).toList());
    Spread own = Spread.of(list.stream().map(r -> r.ownStart().toHealthy()).toList());
    String failed = counts(list.stream().map(r -> r.load().failed()).toList());
    String kinds = failureKinds(list);
    if (strategy.startsWith("restart") && strategy.endsWith(HELD_SOCKET)) {
      long clean = list.stream().filter(r -> r.load().failed() == 0).count();
      long met = list.stream().filter(NodeRound::heldSocketTargetMet).count();
      out.printf(Locale.ROOT, "| failed requests | %s | %s | 0 at %d requests/s: %s |%n", failed, kinds,
          list.get(0).rate(), verdict(clean, list.size()));
      out.printf(Locale.ROOT, "| longest gap without a successful answer | %s | own start %s | gap ≤ own start: %s |%n",
          gap.cells(LoadReport::millis), own.cells(LoadReport::millis).replace(" | ", " / "),
          verdict(met, list.size()));
      out.printf(Locale.ROOT, "| gap − own start | %s | | ≤ 0 |%n",
          Spread.of(list.stream().map(NodeRound::gapOverOwnStart).toList()).cells(BenchReport::signedMillis));
    } else if (strategy.equals("restart")) {
      long met = list.stream().filter(NodeRound::restartTargetMet).count();
      out.printf(Locale.ROOT, "| longest gap without a successful answer | %s | own start %s | gap ≤ own start + 0.5 s: %s |%n",
          gap.cells(LoadReport::millis), own.cells(LoadReport::millis).replace(" | ", " / "),
          verdict(met, list.size()));
      out.printf(Locale.ROOT, "| gap − own start | %s | | ≤ 0.5 s |%n",
          Spread.of(list.stream().map(NodeRound::gapOverOwnStart).toList()).cells(BenchReport::signedMillis));
      out.printf(Locale.ROOT, "| failed requests | %s | %s | |%n", failed, kinds);
    } else {
      long clean = list.stream().filter(r -> r.load().failed() == 0).count();
      out.printf(Locale.ROOT, "| failed requests | %s | %s | %s |%n", failed, kinds,
          strategy.startsWith("overlap") && !strategy.equals("overlap-shared-port")
              ? "0 at " + list.get(0).rate() + " requests/s: " + verdict(clean, list.size())
              : "(comparison: health checked on the shared port)");
      out.printf(Locale.ROOT, "| longest gap without a successful answer | %s | own start %s | |%n",
          gap.cells(LoadReport::millis), own.cells(LoadReport::millis).replace(" | ", " / "));
    }
    out.printf(Locale.ROOT, "| publish → every node answers with the new version | %s | | |%n",
        Spread.of(perRound(list, NodeRound::publishToFirstAnswer)).cells(LoadReport::millis));
    out.printf(Locale.ROOT, "| publish → every node committed (after the watch window) | %s | | |%n",
        Spread.of(perRound(list, NodeRound::publishToCommitted)).cells(LoadReport::millis));
    int late = list.stream().mapToInt(r -> r.load().lateStarts()).sum();
    if (late > 0) {
      out.printf(Locale.ROOT, "%nThe load generator fell behind: %d requests started over 50 ms late (the machine was busy).%n",
          late);
    }
  }

  static void perRound(PrintStream out, List<NodeRound> list) {
    out.println();
    out.println("| round | node | update | load avg | requests | failed | longest gap | own start | own stop "
        + "| publish → new answers | publish → committed | STOP | SWITCH | START | VERIFY |");
    out.println("|---:|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (NodeRound r : list) {
      out.printf(Locale.ROOT, "| %d | %s | %s → %s | %.2f | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
          r.round(), r.node(), r.from(), r.to(), r.loadAverage(), r.load().total(),
          r.load().failed() == 0 ? "0" : r.load().failed() + " (" + r.load().failureSummary() + ")",
          LoadReport.millis(r.load().longestGap()), LoadReport.millis(r.ownStart().toHealthy()),
          LoadReport.millis(r.ownStart().toExit()), LoadReport.millis(r.publishToFirstAnswer()),
          LoadReport.millis(r.publishToCommitted()), state(r, "STOP"), state(r, "SWITCH"), state(r, "START"),
          state(r, "VERIFY"));
    }
  }

  static void breakdown(PrintStream out, List<NodeRound> list) {
    out.println();
    out.println("Where the restart gap went (service.log, the updater's log and the load's answers):");
    out.println();
    StringBuilder head = new StringBuilder("| round | node |");
    StringBuilder rule = new StringBuilder("|---:|---|");
    for (String part : SwitchTimeline.PARTS) {
      head.append(' ').append(part).append(" |");
      rule.append("---:|");
    }
    out.println(head.append(" = gap |"));
    out.println(rule.append("---:|"));
    List<List<Duration>> columns = new ArrayList<>();
    for (NodeRound r : list) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %d | %s |", r.round(), r.node()));
      List<Duration> parts = r.timeline().parts();
      for (int i = 0; i < parts.size(); i++) {
        if (columns.size() <= i) {
          columns.add(new ArrayList<>());
        }
        columns.get(i).add(parts.get(i));
        row.append(' ').append(LoadReport.millis(parts.get(i))).append(" |");
      }
      out.println(row.append(' ').append(LoadReport.millis(r.timeline().gap())).append(" |"));
    }
    if (list.size() > 1) {
      StringBuilder median = new StringBuilder("| median | |");
      for (List<Duration> c : columns) {
        Spread s = Spread.of(c);
        median.append(' ').append(s == null ? "-" : LoadReport.millis(s.median())).append(" |");
      }
      Spread gaps = Spread.of(list.stream().map(r -> r.timeline().gap()).toList());
      out.println(median.append(' ').append(gaps == null ? "-" : LoadReport.millis(gaps.median())).append(" |"));
    }
  }

  /** Per round, the largest of the nodes' values (the time until every node got there). */
  private static List<Duration> perRound(List<NodeRound> list, Function<NodeRound, Duration> value) {
    Map<Integer, Duration> max = new TreeMap<>();
    for (NodeRound r : list) {
      Duration v = value.apply(r);
      max.merge(r.round(), v == null ? Duration.ofDays(365) : v, (a, b) -> a.compareTo(b) >= 0 ? a : b);
    }
    return new ArrayList<>(max.values());
  }

  private static String failureKinds(List<NodeRound> list) {
    Map<String, Integer> kinds = new TreeMap<>();
    list.forEach(r -> r.load().failures().forEach((k, v) -> kinds.merge(k, v, Integer::sum)));
    if (kinds.isEmpty()) {
      return "none failed";
    }
    return "all rounds: " + kinds.entrySet().stream().sorted(Comparator.comparing(Map.Entry::getKey))
        .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
  }

  private static String verdict(long met, int of) {
    return met == of ? "**met** in " + of + " of " + of + " switches"
        : "**missed** in " + (of - met) + " of " + of + " switches";
  }

  private static String state(NodeRound r, String state) {
    Long ms = r.stateMillis().get(state);
    return ms == null ? "-" : String.format(Locale.ROOT, "%,d ms", ms);
  }

  /** "min | median | max" of counts (the median of an even number: the mean of the middle two). */
  static String counts(List<Integer> values) {
    List<Integer> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    return sorted.get(0) + " | " + (median == Math.rint(median) ? Long.toString((long) median)
        : String.format(Locale.ROOT, "%.1f", median)) + " | " + sorted.get(n - 1);
  }

  private static String signedMillis(Duration d) {
    return (d.isNegative() ? "−" + LoadReport.millis(d.negated()) : "+" + LoadReport.millis(d));
  }
}
