package io.upgradekit.updater.event;

import static io.upgradekit.updater.event.UpdateState.BEGIN;
import static io.upgradekit.updater.event.UpdateState.COMMIT;
import static io.upgradekit.updater.event.UpdateState.DOWNLOAD;
import static io.upgradekit.updater.event.UpdateState.END;
import static io.upgradekit.updater.event.UpdateState.END_ACTION;
import static io.upgradekit.updater.event.UpdateState.GATE;
import static io.upgradekit.updater.event.UpdateState.RESOLVE;
import static io.upgradekit.updater.event.UpdateState.ROLLBACK;
import static io.upgradekit.updater.event.UpdateState.STAGE;
import static io.upgradekit.updater.event.UpdateState.START;
import static io.upgradekit.updater.event.UpdateState.STOP;
import static io.upgradekit.updater.event.UpdateState.SWITCH;
import static io.upgradekit.updater.event.UpdateState.VERIFY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.updater.event.UpdateState.FailurePolicy;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The state machine's table: what may follow what, and what a failure in each state requires. */
class UpdateStateTest {
  /** DESIGN §6 and the javadoc's table, written out once more so that a change to either is seen. */
  private static final Map<UpdateState, Set<UpdateState>> TABLE = new EnumMap<>(Map.ofEntries(
      Map.entry(BEGIN, EnumSet.of(RESOLVE, ROLLBACK, END_ACTION)),
      Map.entry(RESOLVE, EnumSet.of(DOWNLOAD, ROLLBACK, END_ACTION)),
      Map.entry(DOWNLOAD, EnumSet.of(STAGE, END_ACTION)),
      Map.entry(STAGE, EnumSet.of(GATE, DOWNLOAD, END_ACTION)),
      Map.entry(GATE, EnumSet.of(STOP, END_ACTION)),
      Map.entry(STOP, EnumSet.of(SWITCH, END_ACTION)),
      Map.entry(SWITCH, EnumSet.of(START, ROLLBACK)),
      Map.entry(START, EnumSet.of(VERIFY, ROLLBACK)),
      Map.entry(VERIFY, EnumSet.of(COMMIT, ROLLBACK)),
      Map.entry(COMMIT, EnumSet.of(END_ACTION)),
      Map.entry(ROLLBACK, EnumSet.of(END_ACTION)),
      Map.entry(END_ACTION, EnumSet.of(END)),
      Map.entry(END, EnumSet.noneOf(UpdateState.class))));

  @Test
  void theStatesAreInTheDesignsOrder() {
    assertThat(UpdateState.values()).containsExactly(BEGIN, RESOLVE, DOWNLOAD, STAGE, GATE, STOP, SWITCH, START,
        VERIFY, COMMIT, ROLLBACK, END_ACTION, END);
  }

  @Test
  void theHappyPathsAreLegal() {
    List<List<UpdateState>> paths = List.of(
        List.of(BEGIN, RESOLVE, DOWNLOAD, STAGE, GATE, STOP, SWITCH, START, VERIFY, COMMIT, END_ACTION, END),
        List.of(BEGIN, RESOLVE, DOWNLOAD, STAGE, DOWNLOAD, STAGE, GATE, STOP, SWITCH, START, VERIFY, COMMIT,
            END_ACTION, END), // delta fallback
        List.of(BEGIN, RESOLVE, DOWNLOAD, STAGE, END_ACTION, END), // --stage-only
        List.of(BEGIN, RESOLVE, DOWNLOAD, STAGE, GATE, STOP, SWITCH, START, VERIFY, ROLLBACK, END_ACTION, END),
        List.of(BEGIN, ROLLBACK, END_ACTION, END), // manual rollback
        List.of(BEGIN, RESOLVE, ROLLBACK, END_ACTION, END), // recall
        List.of(BEGIN, END_ACTION, END)); // recovery
    for (List<UpdateState> path : paths) {
      UpdateState.requireTransition(null, path.get(0));
      for (int i = 1; i < path.size(); i++) {
        UpdateState.requireTransition(path.get(i - 1), path.get(i));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(UpdateState.class)
  void everyTransitionNotInTheTableIsRefusedWithATypedError(UpdateState from) {
    assertThat(from.next()).isEqualTo(TABLE.get(from));
    for (UpdateState to : UpdateState.values()) {
      if (TABLE.get(from).contains(to)) {
        assertThat(from.canEnter(to)).as(from + " -> " + to).isTrue();
        UpdateState.requireTransition(from, to);
      } else {
        assertThat(from.canEnter(to)).as(from + " -> " + to).isFalse();
        assertThatThrownBy(() -> UpdateState.requireTransition(from, to))
            .isInstanceOfSatisfying(IllegalTransitionException.class, e -> {
              assertThat(e.from()).isEqualTo(from);
              assertThat(e.to()).isEqualTo(to);
              assertThat(e).hasMessageContaining(from + " -> " + to);
            });
      }
    }
  }

  @Test
  void anEventStartsInBeginOnlyAndNothingFollowsEnd() {
    for (UpdateState to : UpdateState.values()) {
      if (to != BEGIN) {
        assertThatThrownBy(() -> UpdateState.requireTransition(null, to))
            .isInstanceOf(IllegalTransitionException.class).hasMessageContaining("only BEGIN");
      }
    }
    assertThat(END.next()).isEmpty();
    // Some transitions a bug could attempt: skipping the switch, going back after the switch, re-entering.
    for (UpdateState[] t : new UpdateState[][] {{STOP, START}, {SWITCH, STOP}, {COMMIT, ROLLBACK},
        {ROLLBACK, SWITCH}, {END_ACTION, END_ACTION}, {END, END}, {GATE, ROLLBACK}, {DOWNLOAD, DOWNLOAD}}) {
      assertThatThrownBy(() -> UpdateState.requireTransition(t[0], t[1]))
          .isInstanceOf(IllegalTransitionException.class);
    }
  }

  @Test
  void everyStateLeadsToEnd() {
    for (UpdateState start : UpdateState.values()) {
      Set<UpdateState> seen = EnumSet.of(start);
      Deque<UpdateState> todo = new ArrayDeque<>(List.of(start));
      while (!todo.isEmpty()) {
        for (UpdateState next : todo.pop().next()) {
          if (seen.add(next)) {
            todo.push(next);
          }
        }
      }
      assertThat(seen).as("reachable from " + start).contains(END);
    }
  }

  @Test
  void failurePoliciesFollowTheSwitch() {
    for (UpdateState s : List.of(BEGIN, RESOLVE, DOWNLOAD, STAGE, GATE)) {
      assertThat(s.onFailure()).as(s.name()).isEqualTo(FailurePolicy.NOTHING);
      assertThat(s.onInterruption()).as(s.name()).isEqualTo(FailurePolicy.RESTORE_OLD);
    }
    assertThat(STOP.onFailure()).isEqualTo(FailurePolicy.RESTORE_OLD);
    assertThat(STOP.onInterruption()).isEqualTo(FailurePolicy.RESTORE_OLD);
    for (UpdateState s : List.of(SWITCH, START, VERIFY)) {
      assertThat(s.onFailure()).as(s.name()).isEqualTo(FailurePolicy.ROLL_BACK);
      assertThat(s.onInterruption()).as(s.name()).isEqualTo(FailurePolicy.ROLL_BACK);
      assertThat(s.canEnter(ROLLBACK)).as(s + " can roll back").isTrue();
    }
    assertThat(ROLLBACK.onFailure()).isEqualTo(FailurePolicy.NOTHING);
    assertThat(ROLLBACK.onInterruption()).isEqualTo(FailurePolicy.ROLL_BACK);
    for (UpdateState s : List.of(COMMIT, END_ACTION, END)) {
      assertThat(s.onFailure()).as(s.name()).isEqualTo(FailurePolicy.NOTHING);
      assertThat(s.onInterruption()).as(s.name()).isEqualTo(FailurePolicy.FINISH);
    }
    // A state whose failure needs a rollback can always reach it; every other failure ends the event.
    for (UpdateState s : UpdateState.values()) {
      if (s.onFailure() == FailurePolicy.ROLL_BACK) {
        assertThat(s.canEnter(ROLLBACK)).isTrue();
      } else if (s.ordinal() < END_ACTION.ordinal()) {
        assertThat(s.canEnter(END_ACTION)).as(s + " can end").isTrue();
      }
    }
  }

  @Test
  void theJsonNamesStayTheStrings() {
    assertThat(io.upgradekit.schema.json.Json.canonicalBytes(List.of(EventKind.UPDATE, EventKind.ROLLBACK,
        EventKind.RECALL, EventKind.RECOVERY, StepOutcome.SKIPPED, Outcome.ROLLED_BACK, VERIFY)))
        .asString().isEqualTo("[\"update\",\"rollback\",\"recall\",\"recovery\",\"SKIPPED\",\"ROLLED_BACK\",\"VERIFY\"]");
    assertThat(io.upgradekit.schema.json.Json.read("\"recall\"".getBytes(), EventKind.class, "kind"))
        .isEqualTo(EventKind.RECALL);
  }
}
