package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The dashboard's sessions: bounded, ending when idle or old, and only as long as the operator's line lasts. */
class SessionsTest {
  static final class Now extends Clock {
    Instant now = Instant.parse("2030-01-01T10:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  static final byte[] ALICE = OperatorCredentials.digest("alice-token-0123456789");
  static final Function<byte[], Caller.Operator> OPERATORS = d -> java.util.Arrays.equals(d, ALICE)
      ? new Caller.Operator("alice", Caller.Operator.Role.OPERATOR) : null;

  @Test
  void aSessionLastsWhileUsedAndEndsWhenIdleOrOld() {
    Now clock = new Now();
    Sessions sessions = new Sessions(clock, Duration.ofMinutes(30), 10);
    Sessions.Created created = sessions.create(ALICE);
    assertThat(created.id()).hasSize(43).isNotEqualTo(created.session().csrfToken());
    assertThat(sessions.find(created.id(), OPERATORS).operator().name()).isEqualTo("alice");
    assertThat(sessions.find("x".repeat(43), OPERATORS)).isNull();
    assertThat(sessions.find(null, OPERATORS)).isNull();

    for (int i = 0; i < 24; i++) { // used every 29 minutes: alive until its lifetime ends
      clock.now = clock.now.plus(Duration.ofMinutes(29));
      assertThat(sessions.find(created.id(), OPERATORS)).as("after %d uses", i).isNotNull();
    }
    clock.now = clock.now.plus(Duration.ofMinutes(29)); // 12 h 5 min after the login
    assertThat(sessions.find(created.id(), OPERATORS)).isNull();

    Sessions.Created idle = sessions.create(ALICE);
    clock.now = clock.now.plus(Duration.ofMinutes(30));
    assertThat(sessions.find(idle.id(), OPERATORS)).isNull();
    assertThat(sessions.size()).isZero();
  }

  @Test
  void theStoreIsBoundedAndForgetsTheLeastRecentlyUsed() {
    Now clock = new Now();
    Sessions sessions = new Sessions(clock, Duration.ofMinutes(30), 3);
    Sessions.Created first = sessions.create(ALICE);
    Sessions.Created second = sessions.create(ALICE);
    Sessions.Created third = sessions.create(ALICE);
    assertThat(sessions.find(first.id(), OPERATORS)).isNotNull(); // second is now the least recently used
    Sessions.Created fourth = sessions.create(ALICE);
    assertThat(sessions.size()).isEqualTo(3);
    assertThat(sessions.find(second.id(), OPERATORS)).isNull();
    assertThat(sessions.find(first.id(), OPERATORS)).isNotNull();
    assertThat(sessions.find(third.id(), OPERATORS)).isNotNull();
    assertThat(sessions.find(fourth.id(), OPERATORS)).isNotNull();
  }

  @Test
  void aSessionEndsWithItsOperatorsLineAndChecksItsCsrfToken() {
    Sessions sessions = new Sessions(new Now(), Duration.ofMinutes(30), 10);
    Sessions.Created created = sessions.create(ALICE);
    assertThat(created.session().csrfMatches(created.session().csrfToken())).isTrue();
    assertThat(created.session().csrfMatches(null)).isFalse();
    assertThat(created.session().csrfMatches(created.id())).isFalse();
    assertThat(sessions.find(created.id(), d -> null)).isNull(); // the line was removed
    assertThat(sessions.find(created.id(), OPERATORS)).as("and the session with it").isNull();
  }
}
