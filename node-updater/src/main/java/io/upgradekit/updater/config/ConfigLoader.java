package io.upgradekit.updater.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Quantities;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.model.Names;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a target's YAML configuration. Every error is {@link ErrorCode#CONFIG_INVALID} and names
 * the file, the key (dotted, as in the file) and the fix; unknown keys are errors too, so a typo
 * never silently means "default". Relative paths are resolved against the file's directory.
 */
public final class ConfigLoader {
  /** Configuration files are small; a larger one is a mistake (or an attack on the parser). */
  public static final int MAX_CONFIG_BYTES = 256 * 1024;
  /** A credential is 64 hex digits; the file may hold a newline or two more. */
  private static final int MAX_CREDENTIAL_BYTES = 4 * 1024;


  private final Path file;

  private ConfigLoader(Path file) {
    this.file = file;
  }

  /**
   * Loads and checks a configuration file.
   *
   * @throws UpgradeException CONFIG_INVALID naming the key and the fix
   */
  public static UpdaterConfig load(Path file) {
    Path absolute = file.toAbsolutePath().normalize();
    byte[] bytes;
    try {
      bytes = BoundedFiles.read(absolute, MAX_CONFIG_BYTES);
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, absolute + " is larger than " + MAX_CONFIG_BYTES
          + " bytes; a target's configuration is a few dozen lines");
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "configuration file " + absolute
          + " does not exist: pass --config FILE (see the sample config in the distribution's conf/)");
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "cannot read configuration file " + absolute + ": " + e, e);
    }
    return new ConfigLoader(absolute).parse(bytes);
  }

  /** Parses configuration text as if it were read from {@code file} (for tests and tools). */
  public static UpdaterConfig parse(Path file, String yaml) {
    return new ConfigLoader(file.toAbsolutePath().normalize()).parse(yaml.getBytes(StandardCharsets.UTF_8));
  }

  private UpdaterConfig parse(byte[] bytes) {
    JsonNode root;
    try {
      ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
      yaml.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      root = yaml.readTree(bytes);
    } catch (IOException e) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      throw error(null, "is not valid YAML (" + why + "); check indentation and quoting");
    }
    if (root == null || !root.isObject()) {
      throw error(null, "must be a YAML mapping of keys such as repository, app, channel, home, service");
    }
    Obj top = new Obj(root, "");
    top.allow("repository", "app", "channel", "home", "node", "poll", "limits", "retention", "stageOnly",
        "maxCrashes", "service", "health", "watch", "gate", "feedback", "heartbeat");

    Obj repo = top.obj("repository", true);
    repo.allow("url", "trustRoot");
    URI repository = httpUri(repo, "url", true);
    if (!repository.toString().endsWith("/")) {
      repository = URI.create(repository + "/");
    }
    Path trustRoot = path(repo, "trustRoot", true);
    String app = name(top, "app", Names::requireApp);
    String channel = name(top, "channel", Names::requireChannel);
    Path home = path(top, "home", true);

    Obj node = top.obj("node", true);
    node.allow("id", "credential", "credentialFile", "labels");
    String nodeId = name(node, "id", Names::requireNodeId);
    Map<String, String> labels = labels(node, "labels");
    String credential = node.string("credential", false);
    Path credentialFile = path(node, "credentialFile", false);
    if (credential != null && credentialFile != null) {
      throw error(node.key("credential"), "and node.credentialFile are both set: keep one");
    }
    if (credentialFile != null) {
      try {
        credential = new String(BoundedFiles.read(credentialFile, MAX_CREDENTIAL_BYTES), StandardCharsets.US_ASCII)
            .strip();
      } catch (IOException e) {
        throw error(node.key("credentialFile"), "names " + credentialFile + ", which cannot be read (" + e
            + "): write the credential repo-server issued for node " + nodeId + " into it");
      }
    }

    Obj poll = top.obj("poll", false);
    poll.allow("interval", "jitter", "maxBackoff", "calls");
    UpdaterConfig.Poll pollConfig = new UpdaterConfig.Poll(
        duration(poll, "interval", Duration.ofSeconds(60)), duration(poll, "jitter", Duration.ofSeconds(10)),
        duration(poll, "maxBackoff", Duration.ofMinutes(15)), poll.bool("calls", true));
    if (pollConfig.interval().isZero()) {
      throw error(poll.key("interval"), "must be more than 0, e.g. 60s");
    }

    Obj limits = top.obj("limits", false);
    limits.allow("maxDownloadSize", "minFreeDisk", "requestTimeout", "stallTimeout", "minDownloadRate",
        "minDownloadRateWindow");
    UpdaterConfig.Limits limitsConfig = new UpdaterConfig.Limits(
        size(limits, "maxDownloadSize", 4L << 30), size(limits, "minFreeDisk", 256L << 20),
        positive(limits, "requestTimeout", Duration.ofSeconds(30)),
        positive(limits, "stallTimeout", Duration.ofSeconds(30)),
        rate(limits, "minDownloadRate", UpdaterConfig.Limits.DEFAULT_MIN_DOWNLOAD_RATE),
        positive(limits, "minDownloadRateWindow", UpdaterConfig.Limits.DEFAULT_MIN_DOWNLOAD_RATE_WINDOW));

    int retention = top.integer("retention", 3);
    if (retention < 2) {
      throw error(top.key("retention"), "is " + retention + ", but at least 2 versions (current and previous) "
          + "must stay on disk for rollback: set 2 or more");
    }
    boolean stageOnly = top.bool("stageOnly", false);
    int maxCrashes = top.integer("maxCrashes", 3);
    if (maxCrashes < 1) {
      throw error(top.key("maxCrashes"), "must be at least 1");
    }

    UpdaterConfig.Service service = service(top.obj("service", true));
    UpdaterConfig.Health health = health(top.obj("health", service.strategy() != Strategy.SELF));
    UpdaterConfig.Watch watch = watch(top.obj("watch", false));
    if (service.process() == null) {
      String why = service.strategy() == Strategy.SELF ? "a self target has no service process"
          : "with service.start/stop the updater does not start the process itself";
      String fix = service.strategy() == Strategy.SELF ? "remove the key"
          : "use the service's own port, or let the updater run it with service.process";
      if (health.url() != null && health.url().perProcess()) {
        throw error("health.url", "uses " + UpdaterConfig.ServiceUrl.PROCESS_PORT + ", the private port of a "
            + "process the updater started (it learns the port from UPGRADEKIT_PORT_FILE), but " + why + ": " + fix);
      }
      if (watch != null && watch.metricsUrl().perProcess()) {
        throw error("watch.metrics.url", "uses " + UpdaterConfig.ServiceUrl.PROCESS_PORT + ", the private port of a "
            + "process the updater started (it learns the port from UPGRADEKIT_PORT_FILE), but " + why + ": " + fix);
      }
    }

    Obj gate = top.obj("gate", false);
    gate.allow("rolloutState", "claims", "scope", "timeout");
    String scope = gate.string("scope", false);
    if (scope != null) {
      name(gate, "scope", Names::requireScope);
    }
    UpdaterConfig.Gate gateConfig = new UpdaterConfig.Gate(gate.bool("rolloutState", false), gate.bool("claims", false),
        scope == null ? "default" : scope,
        duration(gate, "timeout", Duration.ofMinutes(30)));

    Obj feedback = top.obj("feedback", false);
    feedback.allow("enabled", "url");
    URI feedbackUrl = null;
    if (feedback.bool("enabled", true)) {
      feedbackUrl = httpUri(feedback, "url", false);
      if (feedbackUrl == null) {
        feedbackUrl = repository.resolve("v1/feedback");
      }
    }
    Obj heartbeat = top.obj("heartbeat", false);
    heartbeat.allow("interval");
    Duration heartbeatInterval = duration(heartbeat, "interval", UpdaterConfig.Heartbeat.DEFAULT_INTERVAL);
    if (heartbeatInterval.compareTo(Duration.ofSeconds(1)) < 0
        || heartbeatInterval.compareTo(Duration.ofSeconds(Heartbeat.MAX_INTERVAL_SECONDS)) > 0) {
      throw error(heartbeat.key("interval"), "is " + heartbeat.scalar("interval") + ": write a duration from 1s to "
          + "1h (repo-server counts a node unavailable after three intervals without a heartbeat), e.g. 30s");
    }
    if (gateConfig.claims() && credential == null) {
      throw error(top.key("gate.claims"), "needs node.credential or node.credentialFile: the server only gives "
          + "rollout slots to nodes it knows");
    }
    return new UpdaterConfig(file, repository, trustRoot, app, channel, home,
        new UpdaterConfig.Node(nodeId, credential, labels), pollConfig, limitsConfig, retention, stageOnly, maxCrashes,
        service, health, watch, gateConfig, new UpdaterConfig.Feedback(feedbackUrl),
        new UpdaterConfig.Heartbeat(heartbeatInterval));
  }

  private UpdaterConfig.Service service(Obj s) {
    s.allow("strategy", "process", "start", "stop", "pidFile", "stopTimeout", "startGrace", "socket", "startGate");
    String strategyText = s.string("strategy", false);
    Strategy strategy = Strategy.RESTART;
    if (strategyText != null) {
      try {
        strategy = Strategy.valueOf(strategyText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw error(s.key("strategy"), "is '" + strategyText + "': use restart, overlap or self");
      }
    }
    UpdaterConfig.ProcessSpec process = null;
    Obj p = s.obj("process", false);
    if (p.present()) {
      p.allow("command", "workingDir", "environment");
      List<String> command = p.strings("command", true);
      Path workingDir = path(p, "workingDir", false);
      Map<String, String> env = p.stringMap("environment");
      process = new UpdaterConfig.ProcessSpec(command, workingDir, env);
    }
    List<String> start = s.strings("start", false);
    List<String> stop = s.strings("stop", false);
    if (strategy == Strategy.SELF) {
      if (process != null || start != null || stop != null) {
        throw error(s.key("strategy"), "self (the updater updates itself) takes no service.process, start or stop: "
            + "its launcher bin/updater runs current/");
      }
      if (s.has("socket")) {
        throw error(s.key("socket"), "is set, but a self target has no service process to hand a socket to: "
            + "remove the key");
      }
      if (s.has("startGate")) {
        throw error(s.key("startGate"), "is set, but a self target has no service process to start: remove the key");
      }
      return new UpdaterConfig.Service(strategy, null, null, null, null, Duration.ofSeconds(1), Duration.ZERO, null,
          null);
    }
    if (process == null && start == null) {
      throw error(s.key("process"), "is missing: set service.process.command (the updater runs the service) or "
          + "service.start and service.stop (your own scripts)");
    }
    if (process != null && (start != null || stop != null)) {
      throw error(s.key("process"), "and service.start/stop are both set: keep one way of running the service");
    }
    if (start != null && stop == null && !s.has("pidFile")) {
      throw error(s.key("stop"), "is missing: with service.start, set service.stop or service.pidFile so the "
          + "updater can stop the old version");
    }
    if (strategy == Strategy.OVERLAP && process == null) {
      throw error(s.key("strategy"), "overlap needs service.process: the updater must own both processes to "
          + "start the new one beside the old one");
    }
    UpdaterConfig.Socket socket = socket(s.obj("socket", false));
    if (socket != null && process == null) {
      throw error(s.key("socket"), "needs service.process: with service.start/stop the updater does not start the "
          + "process and cannot hand it a socket; let systemd hold it instead (a socket unit beside the service's "
          + "unit: systemd/README.md in the distribution)");
    }
    Duration startGate = null;
    if (s.has("startGate")) {
      if (strategy != Strategy.RESTART || process == null) {
        throw error(s.key("startGate"), "works with strategy restart and service.process: the updater starts the new "
            + "version, waits until it is ready at its gate, stops the old one and then lets the new one accept"
            + (strategy == Strategy.OVERLAP ? " (overlap needs no gate: both versions serve at once)" : ""));
      }
      startGate = positive(s, "startGate", null);
    }
    return new UpdaterConfig.Service(strategy, process, start, stop, path(s, "pidFile", false),
        positive(s, "stopTimeout", Duration.ofSeconds(30)), duration(s, "startGrace", Duration.ofMillis(500)), socket,
        startGate);
  }

  /** {@code service.socket}: {@code listen} (HOST:PORT, [IPv6]:PORT or PORT) and {@code pass}. */
  private UpdaterConfig.Socket socket(Obj o) {
    if (!o.present()) {
      return null;
    }
    o.allow("listen", "pass");
    String listen = o.string("listen", true);
    java.util.regex.Matcher m = LISTEN.matcher(listen);
    int port = -1;
    if (m.matches()) {
      try {
        port = Integer.parseInt(m.group(3));
      } catch (NumberFormatException e) {
        // too many digits: refused below
      }
    }
    if (port < 1 || port > 65535) {
      throw error(o.key("listen"), "is '" + listen + "': write HOST:PORT (127.0.0.1:8080, [::1]:8080) or a port "
          + "alone (8080: every address), the address the held socket is bound to");
    }
    String host = m.group(1) != null ? m.group(1) : m.group(2);
    String passText = o.string("pass", false);
    UpdaterConfig.Pass pass = UpdaterConfig.Pass.STDIN;
    if (passText != null) {
      switch (passText) {
        case "stdin" -> pass = UpdaterConfig.Pass.STDIN;
        case "listen-fds" -> pass = UpdaterConfig.Pass.LISTEN_FDS;
        default -> throw error(o.key("pass"), "is '" + passText + "': use stdin (the process's standard input, "
            + "as Java's System.inheritedChannel() and inetd expect) or listen-fds (file descriptor 3 with "
            + "LISTEN_FDS, systemd's protocol)");
      }
    }
    return new UpdaterConfig.Socket(host, port, pass);
  }

  /** {@code [v6]:port}, {@code host:port} (no colon in the host) or {@code port}. */
  private static final java.util.regex.Pattern LISTEN =
      java.util.regex.Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)\\]:|([^\\s:\\[\\]]+):)?([0-9]{1,9})");

  private UpdaterConfig.Health health(Obj h) {
    if (!h.present()) {
      return new UpdaterConfig.Health(null, null, Duration.ofSeconds(5), 1, Duration.ofSeconds(1));
    }
    h.allow("url", "command", "timeout", "attempts", "interval");
    UpdaterConfig.ServiceUrl url = serviceUrl(h, "url", false);
    List<String> command = h.strings("command", false);
    if ((url == null) == (command == null)) {
      throw error(h.key("url"), url == null ? "is missing: set health.url (2xx is healthy) or health.command "
          + "(exit 0 is healthy)" : "and health.command are both set: keep one");
    }
    int attempts = h.integer("attempts", 30);
    if (attempts < 1) {
      throw error(h.key("attempts"), "must be at least 1");
    }
    return new UpdaterConfig.Health(url, command, positive(h, "timeout", Duration.ofSeconds(5)), attempts,
        duration(h, "interval", Duration.ofSeconds(1)));
  }

  private UpdaterConfig.Watch watch(Obj w) {
    if (!w.present()) {
      return null;
    }
    w.allow("window", "interval", "metrics", "policy");
    Obj m = w.obj("metrics", true);
    m.allow("url", "format", "errorRate", "latency");
    String formatText = m.string("format", false);
    UpdaterConfig.MetricsFormat format = UpdaterConfig.MetricsFormat.PROMETHEUS;
    if (formatText != null) {
      try {
        format = UpdaterConfig.MetricsFormat.valueOf(formatText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw error(m.key("format"), "is '" + formatText + "': use prometheus or json");
      }
    }
    Obj p = w.obj("policy", false);
    p.allow("errorRateFactor", "latencyFactor", "combine", "minErrorRate", "minLatency");
    String combine = p.string("combine", false);
    if (combine != null && !combine.equals("all") && !combine.equals("any")) {
      throw error(p.key("combine"), "is '" + combine + "': use all (error rate AND latency beyond their factors) "
          + "or any (either)");
    }
    for (String key : new String[] {"errorRate", "latency"}) {
      if (m.string(key, true).split("\\s+/\\s+").length > 2) {
        throw error(m.key(key), "is '" + m.string(key, true) + "': write one metric (a gauge) or one ratio of "
            + "counters, e.g. errors_total / requests_total");
      }
    }
    return new UpdaterConfig.Watch(positive(w, "window", Duration.ofMinutes(5)),
        positive(w, "interval", Duration.ofSeconds(5)), serviceUrl(m, "url", true), format,
        m.string("errorRate", true), m.string("latency", true), p.number("errorRateFactor", 3.0),
        p.number("latencyFactor", 2.0), combine == null || combine.equals("all"), p.number("minErrorRate", 0.001),
        p.number("minLatency", 0.001));
  }

  // ---- typed readers ----

  private interface NameCheck {
    String check(String value);
  }

  private String name(Obj obj, String key, NameCheck check) {
    String value = obj.string(key, true);
    try {
      return check.check(value);
    } catch (UpgradeException e) {
      throw error(obj.key(key), "is '" + value + "', not a valid name: use lowercase letters, digits, '.', '_' "
          + "and '-' (for example my-service)");
    }
  }

  /**
   * {@code node.labels}: {@code zone=a,rack=3} (or a mapping {@code {zone: a, rack: "3"}}), each key
   * and value by release-schema's label rules, at most {@link Heartbeat#MAX_LABELS}.
   */
  private Map<String, String> labels(Obj obj, String key) {
    Map<String, String> out = new LinkedHashMap<>();
    if (obj.isMapping(key)) {
      out.putAll(obj.stringMap(key));
    } else {
      String text = obj.scalar(key);
      if (text == null || text.isBlank()) {
        return Map.of();
      }
      for (String pair : text.split(",", -1)) {
        int eq = pair.indexOf('=');
        if (eq < 0) {
          throw error(obj.key(key), "is '" + text + "': '" + pair.strip() + "' is not key=value; write the labels as "
              + "key=value pairs separated by commas, e.g. zone=eu-west-1a,rack=r12");
        }
        String k = pair.substring(0, eq).strip();
        if (out.put(k, pair.substring(eq + 1).strip()) != null) {
          throw error(obj.key(key), "names the label '" + k + "' twice: keep one");
        }
      }
    }
    if (out.size() > Heartbeat.MAX_LABELS) {
      throw error(obj.key(key), "has " + out.size() + " labels; a node carries at most " + Heartbeat.MAX_LABELS);
    }
    out.forEach((k, v) -> {
      if (!k.matches(Names.LABEL_KEY_PATTERN)) {
        throw error(obj.key(key), "has the label key '" + k + "': a key is a lowercase letter, then up to 62 "
            + "lowercase letters, digits, '.', '_' or '-' (e.g. zone)");
      }
      if (!v.matches(Names.LABEL_VALUE_PATTERN)) {
        throw error(obj.key(key), "has '" + v + "' as the value of " + k + ": a value is a letter or digit, then up "
            + "to 62 letters, digits, '.', '_', ':' or '-' (e.g. eu-west-1a)");
      }
    });
    return out;
  }

  private URI httpUri(Obj obj, String key, boolean required) {
    String text = obj.string(key, required);
    if (text == null) {
      return null;
    }
    try {
      URI uri = new URI(text);
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
        throw new URISyntaxException(text, "not an http(s) URL with a host");
      }
      if (uri.getUserInfo() != null || uri.getFragment() != null) {
        throw new URISyntaxException(text, "user info and fragments are not allowed");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw error(obj.key(key), "is '" + text + "', not a usable URL (" + e.getReason()
          + "): write e.g. https://updates.example.com/repo/");
    }
  }

  /**
   * A health or metrics URL, which may name the checked process's private port as {@code
   * {processPort}}; that port is bound on loopback only, so the host must be a loopback address.
   */
  private UpdaterConfig.ServiceUrl serviceUrl(Obj obj, String key, boolean required) {
    String text = obj.string(key, required);
    if (text == null) {
      return null;
    }
    String placeholder = UpdaterConfig.ServiceUrl.PROCESS_PORT;
    String rest = text.replace(placeholder, "");
    if (rest.contains("{") || rest.contains("}")) {
      throw error(obj.key(key), "is '" + text + "': the only placeholder is " + placeholder + " (check the spelling "
          + "and case), e.g. http://127.0.0.1:" + placeholder + "/health");
    }
    if (!text.contains(placeholder)) {
      return UpdaterConfig.ServiceUrl.of(httpUri(obj, key, required));
    }
    URI probe;
    try {
      probe = new URI(text.replace(placeholder, "1"));
    } catch (URISyntaxException e) {
      throw error(obj.key(key), "is '" + text + "', not a usable URL (" + e.getReason() + "): write e.g. "
          + "http://127.0.0.1:" + placeholder + "/health");
    }
    if (probe.getPort() != 1 || text.indexOf(placeholder) != text.lastIndexOf(placeholder)) {
      throw error(obj.key(key), "is '" + text + "': " + placeholder + " stands for a port and must be the URL's "
          + "port, once, e.g. http://127.0.0.1:" + placeholder + "/health");
    }
    if (!"http".equals(probe.getScheme()) || probe.getUserInfo() != null || probe.getFragment() != null) {
      throw error(obj.key(key), "is '" + text + "': a URL with " + placeholder + " must be plain http to a loopback "
          + "address, e.g. http://127.0.0.1:" + placeholder + "/health");
    }
    String host = probe.getHost();
    if (host == null || !(host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]"))) {
      throw error(obj.key(key), "is '" + text + "': " + placeholder + " is a port the service binds on loopback "
          + "only, so the host must be 127.0.0.1, [::1] or localhost");
    }
    return new UpdaterConfig.ServiceUrl(text);
  }

  private Path path(Obj obj, String key, boolean required) {
    String text = obj.string(key, required);
    if (text == null) {
      return null;
    }
    try {
      return file.getParent().resolve(text).toAbsolutePath().normalize();
    } catch (RuntimeException e) {
      throw error(obj.key(key), "is '" + text + "', not a usable path");
    }
  }

  private Duration positive(Obj obj, String key, Duration dflt) {
    Duration d = duration(obj, key, dflt);
    if (d.isZero()) {
      throw error(obj.key(key), "must be more than 0");
    }
    return d;
  }

  private Duration duration(Obj obj, String key, Duration dflt) {
    String text = obj.scalar(key);
    if (text == null) {
      return dflt;
    }
    try {
      return Quantities.parseDuration(text);
    } catch (IllegalArgumentException e) {
      throw error(obj.key(key), "is " + e.getMessage().replaceFirst("^'[^']*' is ", "'" + text + "', "));
    }
  }

  /** A size per second: {@code 4KiB} or {@code 4KiB/s}; more than 0. */
  private long rate(Obj obj, String key, long dflt) {
    String text = obj.scalar(key);
    if (text == null) {
      return dflt;
    }
    String perSecond = text.strip();
    if (perSecond.endsWith("/s")) {
      perSecond = perSecond.substring(0, perSecond.length() - 2).strip();
    }
    long rate = parseSize(obj, key, text, perSecond, "not a rate: write bytes per second or a number with a unit, "
        + "e.g. 4KiB or 1MB/s");
    if (rate <= 0) {
      throw error(obj.key(key), "must be more than 0, e.g. 4KiB (per second)");
    }
    return rate;
  }

  private long size(Obj obj, String key, long dflt) {
    String text = obj.scalar(key);
    if (text == null) {
      return dflt;
    }
    return parseSize(obj, key, text, text.strip(), "not a size: write bytes or a number with a unit, e.g. 512MB "
        + "or 2GiB");
  }

  private long parseSize(Obj obj, String key, String text, String size, String problem) {
    try {
      return Quantities.parseSize(size);
    } catch (IllegalArgumentException e) {
      throw error(obj.key(key), "is '" + text + "', " + problem + " (" + Quantities.SIZE_FORMS + ")");
    }
  }

  private UpgradeException error(String key, String problem) {
    String where = key == null ? file.toString() : file + ": " + key;
    return new UpgradeException(ErrorCode.CONFIG_INVALID, where + " " + problem);
  }

  /** A mapping in the file, with its dotted prefix for messages. */
  private final class Obj {
    private final JsonNode node;
    private final String prefix;

    Obj(JsonNode node, String prefix) {
      this.node = node;
      this.prefix = prefix;
    }

    boolean present() {
      return node != null;
    }

    boolean isMapping(String key) {
      return node != null && node.has(key) && node.get(key).isObject();
    }

    boolean has(String key) {
      return node != null && node.has(key) && !node.get(key).isNull();
    }

    String key(String key) {
      return prefix + key;
    }

    void allow(String... keys) {
      if (node == null) {
        return;
      }
      Set<String> known = new LinkedHashSet<>(List.of(keys));
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (!known.contains(name)) {
          throw error(key(name), "is not a known key" + (prefix.isEmpty() ? "" : " under " + prefix.substring(0,
              prefix.length() - 1)) + ": known keys are " + String.join(", ", known) + " (check the spelling)");
        }
      }
    }

    Obj obj(String key, boolean required) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        if (required) {
          throw error(key(key), "is missing: add a '" + key + ":' section (see the sample config)");
        }
        return new Obj(null, key(key) + ".");
      }
      if (!child.isObject()) {
        throw error(key(key), "must be a mapping of keys, not " + child.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      return new Obj(child, key(key) + ".");
    }

    String scalar(String key) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        return null;
      }
      if (!child.isValueNode()) {
        throw error(key(key), "must be a single value, not a " + child.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      return child.asText();
    }

    String string(String key, boolean required) {
      String value = scalar(key);
      if (value == null && required) {
        throw error(key(key), "is missing: add '" + key + ": ...'");
      }
      if (value != null && value.isBlank()) {
        throw error(key(key), "is empty: give it a value or remove the key");
      }
      return value;
    }

    boolean bool(String key, boolean dflt) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        return dflt;
      }
      if (!child.isBoolean()) {
        throw error(key(key), "is '" + child.asText() + "': write true or false");
      }
      return child.booleanValue();
    }

    int integer(String key, int dflt) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        return dflt;
      }
      if (!child.isInt()) {
        throw error(key(key), "is '" + child.asText() + "': write a whole number");
      }
      return child.intValue();
    }

    double number(String key, double dflt) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        return dflt;
      }
      if (!child.isNumber() || child.doubleValue() <= 0 || !Double.isFinite(child.doubleValue())) {
        throw error(key(key), "is '" + child.asText() + "': write a positive number, e.g. 3 or 1.5");
      }
      return child.doubleValue();
    }

    List<String> strings(String key, boolean required) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        if (required) {
          throw error(key(key), "is missing: write the command as a list, e.g. [\"java\", \"-jar\", \"app.jar\"]");
        }
        return null;
      }
      if (!child.isArray() || child.isEmpty()) {
        throw error(key(key), "must be a non-empty list of words, e.g. [\"java\", \"-jar\", \"app.jar\"] (no shell "
            + "is involved; use [\"sh\", \"-c\", \"...\"] for one)");
      }
      List<String> out = new ArrayList<>();
      for (JsonNode item : child) {
        if (!item.isValueNode()) {
          throw error(key(key), "must list plain words only");
        }
        out.add(item.asText());
      }
      return List.copyOf(out);
    }

    Map<String, String> stringMap(String key) {
      JsonNode child = node == null ? null : node.get(key);
      if (child == null || child.isNull()) {
        return Map.of();
      }
      if (!child.isObject()) {
        throw error(key(key), "must be a mapping of NAME: value");
      }
      Map<String, String> out = new LinkedHashMap<>();
      child.fields().forEachRemaining(e -> {
        if (!e.getValue().isValueNode()) {
          throw error(key(key) + "." + e.getKey(), "must be a single value");
        }
        out.put(e.getKey(), e.getValue().asText());
      });
      return out;
    }
  }
}
