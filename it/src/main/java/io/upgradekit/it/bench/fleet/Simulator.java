package io.upgradekit.it.bench.fleet;

import io.upgradekit.it.bench.fleet.Recorder.Endpoint;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.NodeCall;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * N simulated nodes speaking the real wire protocol to real repo-server processes, on a few
 * threads: one timer thread for every node's clock and the JDK HTTP client's asynchronous
 * requests, whose answers are handled on a pool of two. Each node does what an updater daemon
 * does (docs/rollouts.md, "On the node"), minus the files:
 *
 * <ul>
 *   <li>polls its channel pointer every {@code poll ± jitter} with {@code If-None-Match}; a new
 *       release: fetches its manifest once, then, the manifest carrying a plan, the signed rollout
 *       state (with its ETag) and asks {@code POST /v1/leases}; a {@code wait} asks again after the
 *       answer's {@code retryAfterSeconds} (a whole poll: pointer, state, lease), as the daemon does;
 *   <li>with a grant: confirms it ({@code /v1/leases/confirm}), "stops", and is between STOP and
 *       healthy for the simulated update time, heartbeating at STOP, START and VERIFY; then runs the
 *       release, heartbeats healthy, reports COMMITTED ({@code POST /v1/feedback}) and gives the slot
 *       back ({@code /v1/leases/release});
 *   <li>heartbeats every interval (labels, state, health, error rate, latency);
 *   <li>after the update, each poll also reads the installed release's rollout state (the recall
 *       check).
 * </ul>
 *
 * The simulator keeps its own view of the budget (who is between STOP and healthy), of the slots
 * (which node was granted and holds which slot and generation), and of every request's latency.
 * Signed documents are verified once per distinct content (every node receives the same bytes);
 * grants, which differ per node, for every {@code verifyEvery}-th node.
 */
final class Simulator implements AutoCloseable {
  /** After a request failed (no answer, 5xx), a node tries again after this long. */
  static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(5);

  private final FleetOptions options;
  private final Recorder recorder;
  private final List<SimNode> nodes;
  private final MetadataVerifier verifier;
  private final ScheduledThreadPoolExecutor timer;
  private final ExecutorService pool;
  private final HttpClient http;
  private final int budget;
  private final ConcurrentHashMap<String, ChannelPointer> pointers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ReleaseManifest> manifests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, RolloutState> states = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> granted = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, String> holding = new ConcurrentHashMap<>();
  private final AtomicInteger between = new AtomicInteger();
  private final AtomicInteger maxBetween = new AtomicInteger();
  private final AtomicInteger violations = new AtomicInteger();
  private final AtomicInteger doubleGrants = new AtomicInteger();
  private final AtomicInteger doubleHolds = new AtomicInteger();
  private final AtomicInteger grantsRefused = new AtomicInteger();
  private final AtomicInteger grants = new AtomicInteger();
  private final AtomicInteger lost = new AtomicInteger();
  private final AtomicInteger callsAnswered = new AtomicInteger();
  private final AtomicInteger serverBudget = new AtomicInteger(-1);
  private final AtomicInteger waves = new AtomicInteger(-1);
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong bytesOut = new AtomicLong();
  /** Body bytes received and sent by the nodes while the fleet was idle (the steady window). */
  private final AtomicLong steadyBytesIn = new AtomicLong();
  private final AtomicLong steadyBytesOut = new AtomicLong();
  private final ConcurrentHashMap<String, Waits> waits = new ConcurrentHashMap<>();
  private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger problemCount = new AtomicInteger();
  private volatile CountDownLatch healthy;
  private volatile long publishedNanos;

  Simulator(FleetOptions options, Recorder recorder, List<SimNode> nodes, MetadataVerifier verifier) {
    this.options = options;
    this.recorder = recorder;
    this.nodes = List.copyOf(nodes);
    this.verifier = verifier;
    int fleet = nodes.size();
    int minAvailable = (int) Math.ceil(fleet * options.minAvailablePercent() / 100.0);
    this.budget = fleet - minAvailable;
    timer = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "fleet-timer"));
    timer.setRemoveOnCancelPolicy(true);
    AtomicInteger n = new AtomicInteger();
    pool = Executors.newFixedThreadPool(2, r -> daemon(r, "fleet-http-" + n.incrementAndGet()));
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
        .connectTimeout(Duration.ofSeconds(10)).build();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** The budget as the simulator computes it from the plan: fleet − ⌈fleet × minAvailable⌉. */
  int budget() {
    return budget;
  }

  /** Starts every node: first poll and first heartbeat at a random moment within their intervals. */
  void start() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (SimNode node : nodes) {
      schedulePoll(node, random.nextLong(options.poll().toMillis()));
      later(random.nextLong(options.heartbeat().toMillis()), () -> heartbeatLoop(node));
      if (options.calls()) {
        later(random.nextLong(1000), () -> listen(node));
      }
    }
  }

  /** The channel now points at the release with the plan: from here on the rollout is measured. */
  void published(long nanos) {
    healthy = new CountDownLatch(nodes.size());
    publishedNanos = nanos;
    recorder.phase(Recorder.Phase.ROLLOUT);
  }

  /** Waits until every node runs the release healthy. @return true if they all did within {@code timeout} */
  boolean awaitAllHealthy(Duration timeout) throws InterruptedException {
    return healthy.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  // --- the node's poll ---------------------------------------------------------------------------

  /**
   * The node's next poll after {@code millis} (at once when a call came during the poll that
   * ends here). A poll scheduled earlier that has not run yet is dropped: one poll at a time.
   */
  private void schedulePoll(SimNode node, long millis) {
    long serial;
    long delay = millis;
    synchronized (node) {
      node.polling = false;
      if (node.called) {
        node.called = false;
        delay = 0;
      }
      serial = ++node.pollSerial;
    }
    later(delay, () -> {
      synchronized (node) {
        if (serial != node.pollSerial) {
          return;
        }
        node.polling = true;
      }
      poll(node);
    });
  }

  /**
   * {@code GET /v1/calls}, held by the server, one at a time for the node's life (the updater's
   * {@code CallListener}): a call makes the node poll at once, or right after the poll under way.
   */
  private void listen(SimNode node) {
    StringBuilder query = new StringBuilder("v1/calls?app=").append(BenchRepository.APP)
        .append("&channel=").append(BenchRepository.CHANNEL).append("&wait=25");
    synchronized (node) {
      query.append("&version=").append(node.running);
      if (node.callToken != null) {
        query.append("&after=").append(java.net.URLEncoder.encode(node.callToken, StandardCharsets.UTF_8));
      }
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(node.server.resolve(query.toString())).GET()
        .header("Authorization", node.authorization).header("X-Upgradekit-Node", node.id);
    send(node, Endpoint.CALLS, request, response -> {
      if (response.statusCode() != 200) {
        problem("calls of " + node.id + " answered " + response.statusCode());
        later(RETRY_AFTER_FAILURE.toMillis(), () -> listen(node));
        return;
      }
      NodeCall call = ApiBody.NODE_CALL.read(response.body());
      long within = call.pollWithin().toMillis();
      boolean pollNow = false;
      synchronized (node) {
        node.callToken = call.token();
        if (call.call() && node.phase != SimNode.Phase.UPDATING) {
          if (recorder.phase() == Recorder.Phase.ROLLOUT) {
            callsAnswered.incrementAndGet();
          }
          if (node.polling) {
            node.called = true;
          } else {
            pollNow = true;
          }
        }
      }
      if (pollNow) {
        // As the daemon: at a random moment within the server's spread of the wave.
        schedulePoll(node, within <= 0 ? 0 : ThreadLocalRandom.current().nextLong(within + 1));
      }
      listen(node);
    });
  }

  private void poll(SimNode node) {
    String etag;
    synchronized (node) {
      etag = node.pointerEtag;
    }
    HttpRequest.Builder request = get(node, "apps/" + BenchRepository.APP + "/channels/" + BenchRepository.CHANNEL
        + ".json", etag);
    send(node, Endpoint.POINTER, request, response -> {
      if (response.statusCode() == 200) {
        String tag = response.headers().firstValue("ETag").orElse(null);
        ChannelPointer pointer = pointers.computeIfAbsent(tag == null ? "" : tag, t -> verifier.verifyChannelPointer(
            response.body(), BenchRepository.APP, BenchRepository.CHANNEL, 0));
        synchronized (node) {
          node.pointerEtag = tag;
          if (!pointer.version().equals(node.running) && !pointer.version().equals(node.target)) {
            node.target = pointer.version();
            node.manifestFetched = false;
            node.noticedNanos = System.nanoTime();
          }
        }
      } else if (response.statusCode() != 304) {
        failed(node, Endpoint.POINTER, response);
        return;
      }
      afterPointer(node);
    });
  }

  private void afterPointer(SimNode node) {
    String target;
    boolean fetched;
    boolean installed;
    synchronized (node) {
      target = node.target;
      fetched = node.manifestFetched;
      installed = target == null || target.equals(node.running);
    }
    if (installed) {
      if (BenchRepository.TO.equals(node.running)) {
        recallCheck(node); // the installed release has a plan: its state may order a recall
      } else {
        nextPoll(node);
      }
      return;
    }
    if (!fetched) {
      send(node, Endpoint.MANIFEST, get(node, "apps/" + BenchRepository.APP + "/releases/" + target
          + "/release.json", null), response -> {
        if (response.statusCode() != 200) {
          failed(node, Endpoint.MANIFEST, response);
          return;
        }
        manifests.computeIfAbsent(target, v -> verifier.verifyReleaseManifest(response.body(),
            pointers.values().stream().filter(p -> p.version().equals(v)).findFirst().orElseThrow()));
        synchronized (node) {
          node.manifestFetched = true;
          node.phase = SimNode.Phase.GATE;
          node.state = "GATE";
        }
        gate(node, target);
      });
      return;
    }
    gate(node, target);
  }

  /** GATE: the signed state (with its ETag), then a slot. */
  private void gate(SimNode node, String target) {
    fetchState(node, target, state -> {
      if (state == null || state.action() != RolloutState.Action.PROCEED) {
        nextPoll(node); // missing, stale or not proceed: a pause until the next poll
        return;
      }
      ask(node, target, state);
    });
  }

  private void recallCheck(SimNode node) {
    fetchState(node, node.running, state -> nextPoll(node));
  }

  private void fetchState(SimNode node, String version, Consumer<RolloutState> then) {
    String etag;
    synchronized (node) {
      etag = node.stateEtag;
    }
    send(node, Endpoint.STATE, get(node, "apps/" + BenchRepository.APP + "/rollout/" + version + ".json", etag),
        response -> {
          if (response.statusCode() == 404) {
            then.accept(null);
            return;
          }
          String tag;
          if (response.statusCode() == 200) {
            tag = response.headers().firstValue("ETag").orElse("");
            states.computeIfAbsent(tag, t -> verifier.verifyRolloutState(response.body(), BenchRepository.APP, version,
                0));
          } else if (response.statusCode() == 304) {
            tag = etag;
          } else {
            failed(node, Endpoint.STATE, response);
            return;
          }
          RolloutState state = states.get(tag);
          synchronized (node) {
            node.stateEtag = tag;
            if (state.sequence() < node.trustedSequence) {
              problem("node " + node.id + " was served rollout state " + state.sequence() + " after "
                  + node.trustedSequence);
            }
            node.trustedSequence = Math.max(node.trustedSequence, state.sequence());
          }
          if (state.waves() != null) {
            waves.set(state.waves());
          }
          boolean stale = !state.expires().isAfter(Instant.now());
          then.accept(stale ? null : state);
        });
  }

  private void ask(SimNode node, String target, RolloutState state) {
    LeaseRequest request = LeaseRequest.ask(BenchRepository.APP, target, node.id, LeaseGrant.Kind.UPGRADE);
    synchronized (node) {
      node.asks++;
    }
    send(node, Endpoint.LEASE, post(node, "v1/leases", ApiBody.LEASE_REQUEST.write(request)), response -> {
      if (response.statusCode() != 200) {
        if (response.statusCode() == 404 || response.statusCode() == 409) {
          nextPoll(node);
        } else {
          failed(node, Endpoint.LEASE, response);
        }
        return;
      }
      LeaseAnswer answer = ApiBody.LEASE_ANSWER.read(response.body());
      if (answer.budget() != null) {
        serverBudget.set(answer.budget());
      }
      if (answer.wave() != null) {
        synchronized (node) {
          node.wave = answer.wave();
        }
      }
      if (answer.status() != LeaseAnswer.Status.GRANTED) {
        long retry = answer.retryAfterSeconds() == null ? -1 : Math.max(1, answer.retryAfterSeconds());
        if (recorder.phase() == Recorder.Phase.ROLLOUT) {
          waits.computeIfAbsent(String.valueOf(answer.code()), c -> new Waits()).add(retry);
        }
        synchronized (node) {
          node.lastWait = answer.code() + " " + retry + " s at " + String.format(java.util.Locale.ROOT, "%.1f",
              (System.nanoTime() - publishedNanos) / 1e9) + ": " + String.valueOf(answer.message()).replace(',', ';');
        }
        if (retry < 0) {
          nextPoll(node);
        } else {
          schedulePoll(node, retry * 1000);
        }
        return;
      }
      byte[] envelope = answer.grant().getBytes(StandardCharsets.UTF_8);
      LeaseGrant grant = node.index % options.verifyEvery() == 0
          ? verifier.verifyLeaseGrant(envelope, BenchRepository.APP, target, node.id)
          : Json.read(Envelopes.parse(envelope, DocumentType.LEASE).payloadBytes(), LeaseGrant.class, "lease");
      if (!grant.node().equals(node.id) || state.openWaves() == null || grant.wave() >= state.openWaves()) {
        // What a real node does not obey: a grant for a wave its copy of the signed state does not open.
        // Like the updater (RolloutGate.STATE_BEHIND_RETRY) it asks again after a second, with the state
        // fetched again: the server grants only what the stored state opens, so the copy was behind.
        grantsRefused.incrementAndGet();
        if (!grant.node().equals(node.id)) {
          problem("node " + node.id + " got a grant for " + grant.node());
        }
        schedulePoll(node, 1000);
        return;
      }
      grants.incrementAndGet();
      String key = grant.kind() + "/" + grant.slot() + "/" + grant.generation();
      String before = granted.putIfAbsent(key, node.id);
      if (before != null && !before.equals(node.id)) {
        doubleGrants.incrementAndGet();
        problem("slot " + key + " was granted to " + before + " and to " + node.id);
      }
      synchronized (node) {
        node.leaseKind = grant.kind().name().toLowerCase(java.util.Locale.ROOT);
        node.slot = grant.slot();
        node.generation = grant.generation();
        node.wave = grant.wave();
        node.grantedNanos = System.nanoTime();
      }
      confirm(node, target, grant, state);
    });
  }

  private void confirm(SimNode node, String target, LeaseGrant grant, RolloutState state) {
    LeaseRequest request = new LeaseRequest(BenchRepository.APP, target, node.id, grant.kind(), grant.slot(),
        grant.generation(), null);
    send(node, Endpoint.CONFIRM, post(node, "v1/leases/confirm", ApiBody.LEASE_REQUEST.write(request)), response -> {
      LeaseAnswer answer = response.statusCode() == 200 || response.statusCode() == 409
          ? ApiBody.LEASE_ANSWER.read(response.body()) : null;
      if (answer == null) {
        failed(node, Endpoint.CONFIRM, response);
        return;
      }
      if (answer.status() != LeaseAnswer.Status.CONFIRMED) {
        lost.incrementAndGet();
        int inRow;
        synchronized (node) {
          inRow = ++node.lostInRow;
          node.slot = -1;
        }
        if (inRow < 3) {
          ask(node, target, state);
        } else {
          schedulePoll(node, options.poll().toMillis());
        }
        return;
      }
      String slotKey = grant.kind() + "/" + grant.slot();
      String previous = holding.putIfAbsent(slotKey, node.id);
      if (previous != null) {
        doubleHolds.incrementAndGet();
        problem("slot " + slotKey + " is held by " + previous + " and confirmed to " + node.id);
      }
      stop(node, target, slotKey);
    });
  }

  /** STOP: from here until healthy the node counts against the budget. */
  private void stop(SimNode node, String target, String slotKey) {
    int now = between.incrementAndGet();
    maxBetween.accumulateAndGet(now, Math::max);
    if (now > budget) {
      violations.incrementAndGet();
      problem(now + " nodes between STOP and healthy, budget " + budget);
    }
    synchronized (node) {
      node.phase = SimNode.Phase.UPDATING;
      node.state = "STOP";
      node.healthy = false;
      node.lostInRow = 0;
      node.stoppedNanos = System.nanoTime();
    }
    heartbeat(node);
    long update = options.update().toMillis();
    later(Math.min(1000, update / 5), () -> step(node, "START", false));
    later(Math.min(2000, update * 2 / 5), () -> step(node, "VERIFY", true));
    later(update, () -> healthy(node, target, slotKey));
  }

  private void step(SimNode node, String state, boolean healthy) {
    synchronized (node) {
      if (node.phase != SimNode.Phase.UPDATING) {
        return;
      }
      node.state = state;
      node.healthy = healthy;
    }
    heartbeat(node);
  }

  /** Healthy on the release: heartbeat, report, give the slot back. */
  private void healthy(SimNode node, String target, String slotKey) {
    holding.remove(slotKey, node.id);
    between.decrementAndGet();
    long stopped;
    String kind;
    int slot;
    long generation;
    synchronized (node) {
      node.phase = SimNode.Phase.DONE;
      node.state = "IDLE";
      node.healthy = true;
      stopped = node.stoppedNanos;
      node.healthyNanos = System.nanoTime();
      node.running = target;
      node.target = null;
      node.stateEtag = null;
      kind = node.leaseKind;
      slot = node.slot;
      generation = node.generation;
    }
    if (healthy != null && BenchRepository.TO.equals(target)) {
      healthy.countDown();
    }
    heartbeat(node);
    Instant at = Instant.now();
    Instant stoppedAt = at.minusMillis((System.nanoTime() - stopped) / 1_000_000);
    Feedback report = new Feedback("feedback", "ev-" + node.id + "-" + target.replace('.', '_'), 0, node.id,
        BenchRepository.APP, BenchRepository.FROM, target, "END", "COMMITTED", List.of(
            new StepReport("STOP", stoppedAt, 20, "OK", null, null),
            new StepReport("SWITCH", stoppedAt, 5, "OK", null, null),
            new StepReport("VERIFY", stoppedAt, options.update().toMillis(), "OK", null, null),
            new StepReport("COMMIT", at, 3, "OK", null, null)), null, null, null, at, null);
    send(node, Endpoint.FEEDBACK, post(node, "v1/feedback", Json.canonicalBytes(report)), response -> {
      if (response.statusCode() != 200 && response.statusCode() != 201) {
        problem("feedback of " + node.id + " answered " + response.statusCode());
      }
      LeaseRequest release = new LeaseRequest(BenchRepository.APP, target, node.id,
          LeaseGrant.Kind.valueOf(kind.toUpperCase(java.util.Locale.ROOT)), slot, generation, "COMMITTED");
      send(node, Endpoint.RELEASE, post(node, "v1/leases/release", ApiBody.LEASE_REQUEST.write(release)), r -> {
        if (r.statusCode() != 200) {
          problem("the release of " + node.id + "'s slot answered " + r.statusCode());
        }
        nextPoll(node);
      });
    });
  }

  /** The waits the nodes were told during the rollout, by code: how many, and the retry-after values. */
  static final class Waits {
    private long count;
    private long sum;
    private long max;

    synchronized void add(long retry) {
      count++;
      sum += Math.max(0, retry);
      max = Math.max(max, retry);
    }

    synchronized String describe() {
      return count + String.format(java.util.Locale.ROOT, " (retry after %.1f s on average, at most %d s)",
          count == 0 ? 0.0 : (double) sum / count, max);
    }
  }

  // --- heartbeats --------------------------------------------------------------------------------

  private void heartbeatLoop(SimNode node) {
    heartbeat(node);
    later(options.heartbeat().toMillis(), () -> heartbeatLoop(node));
  }

  private void heartbeat(SimNode node) {
    Heartbeat hb;
    synchronized (node) {
      ThreadLocalRandom r = ThreadLocalRandom.current();
      hb = new Heartbeat(node.id, BenchRepository.APP, BenchRepository.CHANNEL, node.running, node.labels, node.state,
          node.healthy, 0.001 + r.nextDouble(0.0005), 0.020 + r.nextDouble(0.005), options.heartbeat().toSeconds(),
          Instant.now());
    }
    send(node, Endpoint.HEARTBEAT, post(node, "v1/heartbeats", ApiBody.HEARTBEAT.write(hb)), response -> {
      if (response.statusCode() != 200) {
        problem("a heartbeat of " + node.id + " answered " + response.statusCode());
      }
    });
  }

  // --- plumbing ----------------------------------------------------------------------------------

  private void nextPoll(SimNode node) {
    long poll = options.poll().toMillis();
    long jitter = options.pollJitter().toMillis();
    schedulePoll(node, poll - jitter + ThreadLocalRandom.current().nextLong(2 * jitter + 1));
  }

  private void later(long millis, Runnable action) {
    try {
      timer.schedule(() -> {
        try {
          action.run();
        } catch (RuntimeException e) {
          problem("a node's step failed: " + e);
        }
      }, Math.max(0, millis), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // stopping
    }
  }

  private HttpRequest.Builder get(SimNode node, String path, String etag) {
    HttpRequest.Builder b = HttpRequest.newBuilder(node.server.resolve(path)).GET();
    if (etag != null) {
      b.header("If-None-Match", etag);
    }
    return b;
  }

  private HttpRequest.Builder post(SimNode node, String path, byte[] body) {
    return HttpRequest.newBuilder(node.server.resolve(path)).header("Content-Type", "application/json")
        .header("Authorization", node.authorization).header("X-Upgradekit-Node", node.id)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
  }

  /** Sends, records, and hands the answer on; no answer at all: the node tries again later. */
  private void send(SimNode node, Endpoint endpoint, HttpRequest.Builder request,
      Consumer<HttpResponse<byte[]>> then) {
    Recorder.Phase phase = recorder.phase();
    HttpRequest built = request.timeout(Duration.ofSeconds(30)).build();
    long sent = built.bodyPublisher().map(HttpRequest.BodyPublisher::contentLength).filter(n -> n > 0).orElse(0L);
    bytesOut.addAndGet(sent);
    if (phase == Recorder.Phase.STEADY) {
      steadyBytesOut.addAndGet(sent);
    }
    long start = System.nanoTime();
    http.sendAsync(built, HttpResponse.BodyHandlers.ofByteArray())
        .whenComplete((response, failure) -> {
          recorder.record(phase, endpoint, System.nanoTime() - start, response == null ? 0 : response.statusCode());
          if (response == null) {
            problem(endpoint.label + " of " + node.id + " got no answer: " + failure);
            later(RETRY_AFTER_FAILURE.toMillis(), () -> retry(node, endpoint));
            return;
          }
          bytesIn.addAndGet(response.body().length);
          if (phase == Recorder.Phase.STEADY) {
            steadyBytesIn.addAndGet(response.body().length);
          }
          try {
            then.accept(response);
          } catch (RuntimeException e) {
            problem(endpoint.label + " of " + node.id + ": " + e);
            later(RETRY_AFTER_FAILURE.toMillis(), () -> retry(node, endpoint));
          }
        });
  }

  /** After a failed request: heartbeats are simply sent again at their next time, anything else polls again. */
  private void retry(SimNode node, Endpoint endpoint) {
    if (endpoint == Endpoint.CALLS) {
      listen(node);
    } else if (endpoint != Endpoint.HEARTBEAT) {
      schedulePoll(node, 0);
    }
  }

  private void failed(SimNode node, Endpoint endpoint, HttpResponse<byte[]> response) {
    problem(endpoint.label + " of " + node.id + " answered " + response.statusCode() + ": "
        + new String(response.body(), 0, Math.min(300, response.body().length), StandardCharsets.UTF_8));
    schedulePoll(node, RETRY_AFTER_FAILURE.toMillis());
  }

  private void problem(String what) {
    if (problemCount.incrementAndGet() <= 20) {
      problems.add(what);
    }
  }

  // --- results -----------------------------------------------------------------------------------

  /** What the simulator saw of the rollout. */
  record Outcome(int budget, int serverBudget, int waves, int maxBetween, int violations, int grants, int lostBeforeStop,
      int doubleGrants, int doubleHolds, int grantsRefused, int problems, List<String> firstProblems, long bytesIn,
      long bytesOut, long steadyBytesIn, long steadyBytesOut, List<SimNode> nodes, long publishedNanos,
      Map<String, String> waits, int calls) {}

  Outcome outcome() {
    return new Outcome(budget, serverBudget.get(), waves.get(), maxBetween.get(), violations.get(), grants.get(),
        lost.get(), doubleGrants.get(), doubleHolds.get(), grantsRefused.get(), problemCount.get(),
        List.copyOf(problems), bytesIn.get(), bytesOut.get(), steadyBytesIn.get(), steadyBytesOut.get(), nodes,
        publishedNanos, waitsByCode(), callsAnswered.get());
  }

  private Map<String, String> waitsByCode() {
    Map<String, String> out = new java.util.TreeMap<>();
    waits.forEach((code, w) -> out.put(code, w.describe()));
    return out;
  }

  /** Authorization header value of a node: {@code Basic base64(node:credential)}. */
  static String basic(String node, String credential) {
    return "Basic " + Base64.getEncoder().encodeToString((node + ":" + credential).getBytes(StandardCharsets.UTF_8));
  }

  static Map<String, String> labels(int index) {
    return Map.of("zone", "zone-" + (char) ('a' + index % 3), "rack", "r" + (index % 40));
  }

  /** This process's CPU time (user + system), in milliseconds. */
  static long ownCpuMillis() {
    return ServerProcess.cpuMillis(ProcessHandle.current().pid());
  }

  @Override
  public void close() {
    timer.shutdownNow();
    pool.shutdownNow();
  }

  static URI serverFor(List<URI> servers, int index) {
    return servers.get(index % servers.size());
  }

  static Clock clock() {
    return Clock.systemUTC();
  }
}
