package io.upgradekit.server.cli;

import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.InventoryPage;
import io.upgradekit.schema.api.NodeHistory;
import io.upgradekit.schema.api.ReleaseOverview;
import io.upgradekit.schema.model.Names;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code repo-server fleet inventory|node|releases}: the dashboard's read views on the command
 * line, from the same {@code /v1} endpoints and bodies, with an operator or viewer token. No logic:
 * the server filters, sorts and pages.
 */
@Command(
    name = "fleet",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    subcommands = {FleetCommand.Inventory.class, FleetCommand.Node.class, FleetCommand.Releases.class},
    description = {
      "Reads the fleet through a running server's API (GET /v1/inventory, /v1/nodes/<node>, /v1/releases),"
          + " with an operator or viewer token from the server's --operator-credentials file: what the dashboard"
          + " at /ui/ shows.",
      "",
      "  fleet inventory --server URL --operator-token-file F [--app A] [--version V] [--label K=V]"
          + " [--status S] [--sort KEY] [--limit N] [--offset N] [--json]",
      "  fleet node NODE --server URL --operator-token-file F [--events N] [--json]",
      "  fleet releases --server URL --operator-token-file F [--json]",
      "",
      "Exit status: 0 done, 1 the server failed or cannot be reached, 2 usage error or the server refused.",
      ""
    })
final class FleetCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "inventory", description = "One page of the fleet's nodes (filtered and sorted by the server),"
      + " and the nodes per version per app.")
  static final class Inventory implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RolloutCommand.Target target;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Only nodes with this label.")
    String label;

    @Option(names = "--status", paramLabel = "STATUS",
        description = "Only nodes that are available, unavailable, unhealthy, updating or failed.")
    String status;

    @Option(names = "--sort", paramLabel = "KEY", description = "node (default), app, version, lastHeartbeat,"
        + " state or health; --desc reverses.")
    String sort;

    @Option(names = "--desc", description = "Sort in descending order.")
    boolean desc;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "Rows per page (1 to 500)."
        + " Default: ${DEFAULT-VALUE}.")
    int limit;

    @Option(names = "--offset", paramLabel = "N", defaultValue = "0", description = "The first row.")
    int offset;

    @Option(names = "--json", description = "Print the server's JSON answer as it is.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      List<String> query = new ArrayList<>();
      add(query, "app", target.app);
      add(query, "version", target.version);
      add(query, "label", label);
      add(query, "status", status);
      add(query, "sort", sort);
      add(query, "order", desc ? "desc" : null);
      add(query, "limit", Integer.toString(limit));
      add(query, "offset", Integer.toString(offset));
      byte[] body = target.call("GET", "v1/inventory?" + String.join("&", query), null);
      InventoryPage page = ApiBody.INVENTORY_PAGE.read(body);
      PrintWriter out = spec.commandLine().getOut();
      out.println(json ? new String(body, StandardCharsets.UTF_8) : text(page));
      out.flush();
      return ExitCodes.OK;
    }

    static String text(InventoryPage page) {
      StringBuilder s = new StringBuilder();
      page.versions().forEach((app, versions) -> {
        s.append(app).append(':');
        versions.forEach((v, n) -> s.append(' ').append(v).append(" (").append(n).append(')'));
        s.append('\n');
      });
      s.append(String.format(Locale.ROOT, "%-24s %-12s %-12s %-12s %-9s %-10s %s%n", "NODE", "APP", "VERSION",
          "HEALTH", "STATE", "HEARD", "LAST EVENT"));
      for (InventoryPage.Row r : page.nodes()) {
        String health = !r.available() ? "unavailable" : Boolean.FALSE.equals(r.healthy()) ? "unhealthy" : "up";
        s.append(String.format(Locale.ROOT, "%-24s %-12s %-12s %-12s %-9s %-10s %s%n", r.node(), r.app(),
            r.version() == null ? "-" : r.version(), health, r.state() == null ? "-" : r.state(),
            r.lastHeartbeat() == null ? "never" : secondsAgo(page, r) + " s ago",
            r.lastOutcome() == null ? "-" : r.lastOutcome() + (r.lastErrorCode() == null ? "" : " " + r.lastErrorCode())));
      }
      s.append(String.format(Locale.ROOT, "%d-%d of %d matching (%d in all)", page.matched() == 0 ? 0
          : page.offset() + 1, page.offset() + page.nodes().size(), page.matched(), page.total()));
      return s.toString();
    }

    private static long secondsAgo(InventoryPage page, InventoryPage.Row r) {
      return Math.max(0, page.generatedAt().getEpochSecond() - r.lastHeartbeat().getEpochSecond());
    }
  }

  @Command(name = "node", description = "A node's inventory entries and its events, newest first, with their"
      + " step trails, codes and the fix for each code.")
  static final class Node implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RolloutCommand.Target target;

    @Parameters(paramLabel = "NODE", description = "The node id.")
    String node;

    @Option(names = "--events", paramLabel = "N", defaultValue = "10", description = "Events to show (1 to 200)."
        + " Default: ${DEFAULT-VALUE}.")
    int events;

    @Option(names = "--json", description = "Print the server's JSON answer as it is.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      Names.requireNodeId(node);
      byte[] body = target.call("GET", "v1/nodes/" + node + "?events=" + events, null);
      NodeHistory history = ApiBody.NODE_HISTORY.read(body);
      PrintWriter out = spec.commandLine().getOut();
      out.println(json ? new String(body, StandardCharsets.UTF_8) : text(history));
      out.flush();
      return ExitCodes.OK;
    }

    static String text(NodeHistory h) {
      StringBuilder s = new StringBuilder("node " + h.node() + "\n");
      for (InventoryPage.Row r : h.apps()) {
        s.append("  ").append(r.app()).append(": runs ").append(r.version() == null ? "nothing" : r.version())
            .append(r.available() ? "" : ", unavailable").append(Boolean.FALSE.equals(r.healthy()) ? ", unhealthy" : "")
            .append(r.state() == null ? "" : ", " + r.state()).append(r.labels().isEmpty() ? "" : ", labels "
                + r.labels()).append('\n');
      }
      for (NodeHistory.Event e : h.events()) {
        s.append(String.format(Locale.ROOT, "%s %s %s -> %s: %s in %d ms%n", e.sentAt(), e.app(),
            e.fromVersion() == null ? "nothing" : e.fromVersion(), e.toVersion(), e.outcome(), e.durationMillis()));
        if (e.errorCode() != null) {
          s.append("    ").append(e.errorCode()).append(": ").append(oneLine(e.message())).append('\n');
          if (e.fix() != null) {
            s.append("    what to do: ").append(e.fix()).append('\n');
          }
        }
        for (NodeHistory.Step step : e.steps()) {
          s.append(String.format(Locale.ROOT, "    %-10s %-8s %8d ms%s%n", step.state(), step.outcome(),
              step.durationMillis(), step.errorCode() == null ? "" : "  " + step.errorCode()));
        }
      }
      if (h.moreEvents() > 0) {
        s.append(h.moreEvents()).append(" older events not shown (--events)\n");
      }
      return s.toString().stripTrailing();
    }
  }

  @Command(name = "releases", description = "Per app the channels and releases: package and delta sizes, signing"
      + " key ids, expiry, and warnings for documents that expired or expire soon.")
  static final class Releases implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RolloutCommand.Target target;

    @Option(names = "--json", description = "Print the server's JSON answer as it is.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      byte[] body = target.call("GET", "v1/releases", null);
      ReleaseOverview overview = ApiBody.RELEASE_OVERVIEW.read(body);
      PrintWriter out = spec.commandLine().getOut();
      out.println(json ? new String(body, StandardCharsets.UTF_8) : text(overview));
      out.flush();
      return ExitCodes.OK;
    }

    static String text(ReleaseOverview o) {
      StringBuilder s = new StringBuilder();
      if (o.trustRoot() != null) {
        s.append("trust root ").append(o.trustRoot().version()).append(", expires ").append(o.trustRoot().expires())
            .append(warning(o.trustRoot().warning())).append('\n');
      }
      for (ReleaseOverview.App a : o.apps()) {
        s.append(a.app()).append('\n');
        for (ReleaseOverview.Channel c : a.channels()) {
          s.append("  channel ").append(c.channel()).append(" -> ").append(c.version()).append(" (#")
              .append(c.sequence()).append("), expires ").append(c.expires()).append(warning(c.warning())).append('\n');
        }
        for (ReleaseOverview.Release r : a.releases()) {
          s.append("  ").append(r.version()).append(": package ").append(r.packageSize()).append(" B");
          r.deltas().forEach(d -> s.append(", delta from ").append(d.fromVersion()).append(' ').append(d.size())
              .append(" B"));
          s.append(", expires ").append(r.expires());
          if (r.rollout() != null) {
            s.append(", rollout state #").append(r.rollout().sequence()).append(' ').append(r.rollout().action())
                .append(" until ").append(r.rollout().expires()).append(warning(r.rollout().warning()));
          }
          s.append(warning(r.warning())).append('\n');
        }
      }
      return s.toString().stripTrailing();
    }

    private static String warning(String warning) {
      return warning == null ? "" : "  WARNING: " + warning;
    }
  }

  private static void add(List<String> query, String name, String value) {
    if (value != null) {
      query.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }

  private static String oneLine(String text) {
    return text == null ? "" : text.replaceAll("[\\p{Cntrl}]", " ");
  }
}
