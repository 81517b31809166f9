package io.upgradekit.server.fleet;

import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.server.rollout.RolloutView;
import io.upgradekit.server.rollout.SetView;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The rollouts' and the inventory's metrics in Prometheus text: rollouts by status, waves open,
 * slots busy and the budget per rollout, decisions taken and leases granted and expired by this
 * process, heartbeats received, inventory nodes available and unavailable.
 */
public final class FleetMetrics implements Supplier<String> {
  private final LiveRollouts rollouts;
  private final Decisions decisions;
  private final LeaseService leases;
  private final RolloutController controller;
  private final HeartbeatService heartbeats;
  private final Inventory inventory;
  private final Clock clock;
  private final Consumer<String> warn;

  public FleetMetrics(LiveRollouts rollouts, Decisions decisions, LeaseService leases, RolloutController controller,
      HeartbeatService heartbeats, Inventory inventory, Clock clock, Consumer<String> warn) {
    this.rollouts = rollouts;
    this.decisions = decisions;
    this.leases = leases;
    this.controller = controller;
    this.heartbeats = heartbeats;
    this.inventory = inventory;
    this.clock = clock;
    this.warn = warn;
  }

  @Override
  public String get() {
    Instant now = clock.instant();
    StringBuilder out = new StringBuilder(1024);
    Map<RolloutView.Status, Integer> byStatus = new EnumMap<>(RolloutView.Status.class);
    for (RolloutView.Status s : RolloutView.Status.values()) {
      byStatus.put(s, 0);
    }
    StringBuilder perRollout = new StringBuilder();
    for (LiveRollouts.Rollout r : rollouts.all()) {
      try {
        RolloutView view = decisions.view(r.app(), r.version());
        byStatus.merge(view.status(), 1, Integer::sum);
        String labels = "{app=\"" + r.app() + "\",version=\"" + r.version() + "\"}";
        perRollout.append("upgradekit_rollout_waves_open").append(labels).append(' ').append(view.openWaves())
            .append('\n');
        if (view.schedule() != null) {
          int busy = 0;
          for (LeaseGrant.Kind kind : LeaseGrant.Kind.values()) {
            for (LeaseService.Holding h : leases.scan(r, view.schedule(), kind, now)) {
              busy += h.active() ? 1 : 0;
            }
          }
          perRollout.append("upgradekit_rollout_waves").append(labels).append(' ').append(view.schedule().size())
              .append('\n');
          perRollout.append("upgradekit_rollout_slots_busy").append(labels).append(' ').append(busy).append('\n');
          perRollout.append("upgradekit_rollout_slots_budget").append(labels).append(' ')
              .append(view.schedule().budget()).append('\n');
        }
      } catch (IOException | RuntimeException e) {
        warn.accept("metrics of " + r.app() + " " + r.version() + ": " + e.getMessage());
      }
    }
    header(out, "upgradekit_rollouts", "gauge", "Live rollouts, by status.");
    byStatus.forEach((s, n) -> out.append("upgradekit_rollouts{status=\"").append(RolloutOperations.status(s))
        .append("\"} ").append(n).append('\n'));
    header(out, "upgradekit_rollout_waves_open", "gauge", "Waves open, per rollout.");
    header(out, "upgradekit_rollout_waves", "gauge", "Waves, per rollout.");
    header(out, "upgradekit_rollout_slots_busy", "gauge", "Slots held (both kinds), per rollout.");
    header(out, "upgradekit_rollout_slots_budget", "gauge", "Nodes that may update at once, per rollout.");
    out.append(perRollout);
    header(out, "upgradekit_rollout_decisions_total", "counter", "Rollout decisions this process stored.");
    out.append("upgradekit_rollout_decisions_total ").append(controller.decisionsTaken()).append('\n');
    Map<SetView.Status, Integer> sets = new EnumMap<>(SetView.Status.class);
    for (SetView.Status st : SetView.Status.values()) {
      sets.put(st, 0);
    }
    for (ReleaseSet set : controller.sets().running()) {
      try {
        sets.merge(controller.sets().decisions().view(set.name(), set.version()).status(), 1, Integer::sum);
      } catch (IOException | RuntimeException e) {
        warn.accept("metrics of release set " + set.name() + " " + set.version() + ": " + e.getMessage());
      }
    }
    header(out, "upgradekit_release_sets", "gauge", "Running release sets, by status.");
    sets.forEach((st, n) -> out.append("upgradekit_release_sets{status=\"").append(SetOperations.status(st))
        .append("\"} ").append(n).append('\n'));
    header(out, "upgradekit_set_decisions_total", "counter",
        "Release set decisions and their parts on components this process stored.");
    out.append("upgradekit_set_decisions_total ").append(controller.sets().decisionsTaken()).append('\n');
    header(out, "upgradekit_leases_granted_total", "counter", "Slot leases this process granted.");
    out.append("upgradekit_leases_granted_total ").append(leases.granted()).append('\n');
    header(out, "upgradekit_leases_expired_total", "counter", "Slot leases taken over after they expired.");
    out.append("upgradekit_leases_expired_total ").append(leases.expired()).append('\n');
    header(out, "upgradekit_leases_busy_total", "counter",
        "Slot requests told to ask again in a second because the store was writing the most grants at once.");
    out.append("upgradekit_leases_busy_total ").append(leases.busy()).append('\n');
    header(out, "upgradekit_heartbeats_received_total", "counter", "Heartbeats this process accepted.");
    out.append("upgradekit_heartbeats_received_total ").append(heartbeats.received()).append('\n');
    int[] availability = inventory.availability(now);
    header(out, "upgradekit_inventory_nodes", "gauge", "Inventory entries (node, app), by availability.");
    out.append("upgradekit_inventory_nodes{available=\"true\"} ").append(availability[0]).append('\n');
    out.append("upgradekit_inventory_nodes{available=\"false\"} ").append(availability[1]).append('\n');
    return out.toString();
  }

  private static void header(StringBuilder out, String name, String type, String help) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }
}
