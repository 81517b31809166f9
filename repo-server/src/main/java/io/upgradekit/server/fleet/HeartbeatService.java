package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.HeartbeatResult;
import io.upgradekit.server.core.Caller;
import java.time.Clock;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code POST /v1/heartbeats}: a node announces itself. The body is read strictly and bounded
 * ({@link ApiBody#HEARTBEAT}, 8 KiB); a node speaks only for itself; the heartbeat goes into the
 * {@link Inventory} with the server's time of receipt.
 *
 * <p>Thread-safe.
 */
public final class HeartbeatService {
  private final Inventory inventory;
  private final Clock clock;
  private final LongAdder received = new LongAdder();

  public HeartbeatService(Inventory inventory, Clock clock) {
    this.inventory = inventory;
    this.clock = clock;
  }

  /**
   * @throws UpgradeException METADATA_MALFORMED, METADATA_TOO_LARGE, NAME_INVALID (the body),
   *     ACCESS_DENIED (another node's heartbeat), QUOTA_EXCEEDED (inventory full)
   */
  public HeartbeatResult accept(Caller.Node caller, byte[] body) {
    Heartbeat heartbeat = ApiBody.HEARTBEAT.read(body);
    if (!heartbeat.node().equals(caller.id())) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + caller.id() + " cannot send the heartbeat of"
          + " node " + heartbeat.node() + "; each node announces itself with its own credential");
    }
    var now = clock.instant();
    inventory.accept(heartbeat, now);
    received.increment();
    return new HeartbeatResult(true, now);
  }

  /** Heartbeats accepted since start. */
  public long received() {
    return received.sum();
  }
}
