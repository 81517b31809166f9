package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.NodeCall;
import io.upgradekit.server.core.Caller;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeCallsTest {
  static final String[] NODES = {"n1", "n2", "n3", "n4"};
  static final Duration WAIT = Duration.ofSeconds(25);

  /** The answers one request got (at most one is allowed). */
  static final class Answers {
    final List<NodeCall> got = Collections.synchronizedList(new ArrayList<>());

    void add(NodeCall call) {
      got.add(call);
    }

    boolean held() {
      return got.isEmpty();
    }

    NodeCall only() {
      assertThat(got).as("answered exactly once").hasSize(1);
      return got.get(0);
    }
  }

  private static Answers ask(NodeCalls calls, String node, String version, String after) {
    Answers answers = new Answers();
    calls.await(new Caller.Node(node), new NodeCalls.Request(node, "shop", "stable", version, after), WAIT,
        answers::add);
    return answers;
  }

  private static NodeCalls calls(RolloutFixture f, RolloutFixture.Instance server, int maxHeld) {
    return new NodeCalls(server.leases, server.rollouts, server.reports, f.clock, maxHeld, WAIT);
  }

  @Test
  void aHeldRequestIsAnsweredWhenTheNodesWaveOpensAndTheTokenAnswersEachCallOnce(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    NodeCalls calls = calls(f, server, 100);
    List<Answers> waiting = new ArrayList<>();
    for (String node : NODES) {
      waiting.add(ask(calls, node, "1.0", null));
    }
    assertThat(waiting).allSatisfy(a -> assertThat(a.held()).isTrue());
    assertThat(calls.held()).isEqualTo(4);

    f.publish("2.0", 2, RolloutFixture.batches(50, 600)); // a long bake: wave 2 stays closed
    server.controller.tick();
    calls.look();

    String canary = server.decisions.view("shop", "2.0").schedule().waves().get(0).get(0);
    int c = List.of(NODES).indexOf(canary);
    NodeCall call = waiting.get(c).only();
    assertThat(call.call()).isTrue();
    assertThat(call.token()).isEqualTo("2.0/2"); // start and open-wave 0
    assertThat(call.reason()).isEqualTo("the canary wave of shop 2.0 is open");
    assertThat(call.pollWithinMillis()).as("the canary alone: at once").isZero();
    for (int i = 0; i < NODES.length; i++) {
      if (i != c) {
        assertThat(waiting.get(i).held()).as(NODES[i] + " is not in the open wave").isTrue();
      }
    }
    assertThat(calls.held()).isEqualTo(3);
    assertThat(calls.calls()).isEqualTo(1);

    // The canary asks again with the call's token: held, the same call is not answered twice.
    Answers again = ask(calls, canary, "1.0", call.token());
    calls.look();
    assertThat(again.held()).isTrue();
    // Nor is a node called that runs the release already.
    Answers updated = ask(calls, canary, "2.0", null);
    assertThat(updated.held()).isTrue();
    assertThat(again.only()).as("a node's newer request answers its older one").isEqualTo(NodeCall.none("2.0/2"));

    // The waits end with no call.
    f.clock.advance(WAIT);
    calls.look();
    assertThat(updated.only()).isEqualTo(NodeCall.none(null));
    for (int i = 0; i < NODES.length; i++) {
      if (i != c) {
        assertThat(waiting.get(i).only().call()).isFalse();
      }
    }
    assertThat(calls.held()).isZero();
  }

  @Test
  void aNodeCalledNowIsAnsweredAtOnceAndANodeThatFailedOnTheReleaseIsNotCalled(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    server.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 600));
    server.controller.tick();
    NodeCalls calls = calls(f, server, 100);
    String canary = server.decisions.view("shop", "2.0").schedule().waves().get(0).get(0);

    assertThat(ask(calls, canary, "1.0", null).only().call()).as("answered in the request").isTrue();

    server.report(RolloutFixture.report(canary, "1.0", "2.0", "ROLLED_BACK", f.clock.instant()));
    assertThat(ask(calls, canary, "1.0", null).held()).as("it failed here: an operator's retry calls it").isTrue();
  }

  @Test
  void aWaveCalledTogetherIsSpreadOverAMomentOfTenMillisecondsPerNodeAtMostTwoSeconds() {
    assertThat(NodeCalls.spread(1)).isZero();
    assertThat(NodeCalls.spread(2)).isEqualTo(10);
    assertThat(NodeCalls.spread(100)).isEqualTo(990);
    assertThat(NodeCalls.spread(10_000)).isEqualTo(2000);
  }

  @Test
  void aServerWithoutTheRolloutKeyCallsNobodyAndAnswersWhenTheWaitEnds(@TempDir Path root) throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance withKey = f.new Instance();
    RolloutFixture.Instance without = f.new Instance(false);
    withKey.heartbeats("1.0", NODES);
    f.publish("2.0", 2, RolloutFixture.batches(50, 600));
    withKey.controller.tick();
    without.rollouts.refresh();
    NodeCalls calls = calls(f, without, 100);

    Answers answers = ask(calls, "n1", "1.0", null);
    calls.look();
    assertThat(answers.held()).isTrue();
    f.clock.advance(WAIT);
    calls.look();
    assertThat(answers.only()).isEqualTo(NodeCall.none(null));
  }

  @Test
  void aNodeWaitsOnlyForItselfTheServerHoldsABoundedNumberAndAStopAnswersEveryone(@TempDir Path root)
      throws Exception {
    RolloutFixture f = new RolloutFixture(root);
    RolloutFixture.Instance server = f.new Instance();
    NodeCalls calls = calls(f, server, 2);

    assertThatThrownBy(() -> calls.await(new Caller.Node("n1"), new NodeCalls.Request("n2", "shop", "stable", null,
        null), WAIT, c -> { })).isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.ACCESS_DENIED));

    Answers first = ask(calls, "n1", null, null);
    Answers second = ask(calls, "n2", null, null);
    Answers third = ask(calls, "n3", null, "2.0/1");
    assertThat(third.only()).as("over the bound: answered at once, the node polls as usual")
        .isEqualTo(NodeCall.none("2.0/1"));
    assertThat(calls.held()).isEqualTo(2);
    assertThat(calls.waitFor(Duration.ofHours(1))).isEqualTo(WAIT);

    calls.close();
    assertThat(first.only()).isEqualTo(NodeCall.none(null));
    assertThat(second.only()).isEqualTo(NodeCall.none(null));
    assertThat(ask(calls, "n1", null, null).only()).as("after the stop, at once").isEqualTo(NodeCall.none(null));
    assertThat(calls.held()).isZero();
  }
}
