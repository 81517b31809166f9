package io.upgradekit.server.cli;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ApiError;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.RolloutList;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.api.SetList;
import io.upgradekit.schema.api.SetReport;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.server.core.Secrets;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code repo-server rollout status|start|pause|resume|approve|halt|recall|retry}: the operator's
 * commands, which call a running server's rollout API with an operator token (the same API as the
 * dashboard). No logic: the server checks and records every action.
 */
@Command(
    name = "rollout",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    subcommands = {RolloutCommand.Status.class, RolloutCommand.Start.class, RolloutCommand.Pause.class,
        RolloutCommand.Resume.class, RolloutCommand.Approve.class, RolloutCommand.Halt.class,
        RolloutCommand.Recall.class, RolloutCommand.Retry.class},
    description = {
      "Shows and steers rollouts through a running server's API (GET /v1/rollouts, POST"
          + " /v1/rollouts/<app>/<version>/actions), with an operator token from the server's"
          + " --operator-credentials file. Every action is recorded with the operator's name and --reason and"
          + " reaches the nodes with the next signed rollout state (within --controller-interval).",
      "",
      "  rollout status --server URL --operator-token-file F [--app A --version V] [--json]",
      "  rollout status ... --sets [--json]                 (the running release sets)",
      "  rollout status ... --set NAME --version V [--json] (one release set: its components, contracts, log)",
      "  rollout pause|resume|halt|recall|start --server URL --operator-token-file F --app A --version V --reason TEXT",
      "  rollout pause|resume|halt|recall ... --set NAME --version V --reason TEXT   (a whole release set)",
      "  rollout approve ... [--wave N] --reason TEXT      (N as printed by status; default the next wave)",
      "  rollout retry ... --node NODE --reason TEXT",
      "",
      "Exit status: 0 done, 1 the server failed or cannot be reached, 2 usage error or the server refused"
          + " (printed as 'repo-server: CODE: what to fix').",
      ""
    })
final class RolloutCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Options every rollout command takes. */
  static final class Target {
    @Option(names = "--server", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080/",
        description = "The server's base URL. Default: ${DEFAULT-VALUE}.")
    URI server;

    @Option(names = "--operator-token-file", paramLabel = "FILE", required = true,
        description = "File holding this operator's token (the third field of its line in the server's"
            + " --operator-credentials file).")
    Path tokenFile;

    @Option(names = "--app", paramLabel = "APP", description = "The app.")
    String app;

    @Option(names = "--version", paramLabel = "VERSION", description = "The release being rolled out (with"
        + " --set: the set's version).")
    String version;

    @Option(names = "--set", paramLabel = "NAME", description = "A release set instead of one app's rollout.")
    String set;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    void requireRollout() {
      if (set != null) {
        throw new ServerMain.UsageError("this command acts on one app's rollout: name it with --app and --version,"
            + " not --set");
      }
      if (app == null || version == null) {
        throw new ServerMain.UsageError("name the rollout: --app APP --version VERSION (see 'rollout status')");
      }
      Names.requireApp(app);
      Names.requireVersion(version);
    }

    void requireSet() {
      if (app != null || version == null) {
        throw new ServerMain.UsageError("name the release set: --set NAME --version VERSION, without --app (see"
            + " 'rollout status --sets')");
      }
      Names.requireSetName(set);
      Names.requireVersion(version);
    }

    /** The API path of what the options name: a set's or an app's rollout. */
    String path() {
      return set != null ? "v1/sets/" + set + "/" + version : "v1/rollouts/" + app + "/" + version;
    }

    URI uri(String path) {
      String base = server.toString().endsWith("/") ? server.toString() : server + "/";
      return URI.create(base + path);
    }

    byte[] call(String method, String path, byte[] body) throws IOException, InterruptedException {
      String token = new String(Secrets.readFile(tokenFile, "--operator-token-file"), StandardCharsets.UTF_8);
      HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
          .header("Authorization", "Bearer " + token).header("Accept", "application/json");
      if (body == null) {
        request.GET();
      } else {
        request.POST(HttpRequest.BodyPublishers.ofByteArray(body)).header("Content-Type", "application/json");
      }
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      HttpResponse<byte[]> response;
      try {
        response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        throw new IOException("cannot reach " + server + ": " + e.getMessage() + "; check --server", e);
      }
      if (response.statusCode() / 100 == 2) {
        return response.body();
      }
      ApiError error;
      try {
        error = ApiBody.ERROR.read(response.body());
      } catch (UpgradeException e) {
        throw new IOException(server + " answered " + response.statusCode() + " without an error body");
      }
      ErrorCode code = error.knownCode().orElse(ErrorCode.INTERNAL_ERROR);
      throw new UpgradeException(code, error.message());
    }
  }

  @Command(name = "status", description = "Lists the live rollouts, or shows one: its waves, each node's state,"
      + " slots busy of the budget, the canary judge's figures and the action log. With --sets, the running"
      + " release sets; with --set NAME --version V, one set: each component's place and what it waits for,"
      + " the contracts against the fleet, the signed set state and the set's action log.")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Target target;

    @Option(names = "--json", description = "Print the server's JSON answer as it is.")
    boolean json;

    @Option(names = "--sets", description = "List the running release sets (GET /v1/sets).")
    boolean sets;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      if (sets) {
        byte[] body = target.call("GET", "v1/sets", null);
        SetList list = ApiBody.SET_LIST.read(body);
        out.println(json ? new String(body, StandardCharsets.UTF_8) : SetText.list(list));
      } else if (target.set != null) {
        target.requireSet();
        byte[] body = target.call("GET", target.path(), null);
        SetReport report = ApiBody.SET_REPORT.read(body);
        out.println(json ? new String(body, StandardCharsets.UTF_8) : SetText.report(report));
      } else if (target.app == null && target.version == null) {
        byte[] body = target.call("GET", "v1/rollouts", null);
        RolloutList list = ApiBody.ROLLOUT_LIST.read(body);
        out.println(json ? new String(body, StandardCharsets.UTF_8) : RolloutText.list(list));
      } else {
        target.requireRollout();
        byte[] body = target.call("GET", "v1/rollouts/" + target.app + "/" + target.version, null);
        RolloutReport report = ApiBody.ROLLOUT_REPORT.read(body);
        out.println(json ? new String(body, StandardCharsets.UTF_8) : RolloutText.report(report));
      }
      out.flush();
      return ExitCodes.OK;
    }
  }

  /** An action: one POST, the stored decision printed. */
  abstract static class Act implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Target target;

    @Option(names = "--reason", paramLabel = "TEXT", required = true,
        description = "Why: recorded with the action (who, when, why).")
    String reason;

    @Option(names = "--json", description = "Print the stored decision as JSON.")
    boolean json;

    abstract RolloutAction action();

    /** Whether the action applies to a whole release set too ({@code --set}). */
    boolean forSets() {
      return false;
    }

    @Override
    public Integer call() throws Exception {
      if (target.set != null) {
        if (!forSets()) {
          throw new ServerMain.UsageError("a release set takes pause, resume, halt and recall; "
              + spec.name() + " acts on one component's rollout: --app APP --version VERSION");
        }
        target.requireSet();
      } else {
        target.requireRollout();
      }
      RolloutAction action;
      try {
        action = action();
      } catch (UpgradeException e) {
        throw new ServerMain.UsageError(e.getMessage());
      }
      byte[] body = target.call("POST", target.path() + "/actions", ApiBody.ROLLOUT_ACTION.write(action));
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(new String(body, StandardCharsets.UTF_8));
      } else if (target.set != null) {
        SetDecision d = Json.read(body, DocumentType.SET_DECISION, SetDecision.class);
        out.println("set decision " + d.sequence() + ": " + d.kindName() + " by " + d.actor() + " (" + d.reason()
            + ")" + (d.apps().isEmpty() ? "" : "; components: " + String.join(", ", d.apps())));
      } else {
        RolloutDecision d = Json.read(body, DocumentType.DECISION, RolloutDecision.class);
        out.println("decision " + d.sequence() + ": " + RolloutText.kind(d.kind()) + " by " + d.actor() + " ("
            + d.reason() + ")");
      }
      out.flush();
      return ExitCodes.OK;
    }
  }

  @Command(name = "start", description = "Starts a rollout now (the controller starts one by itself when nodes"
      + " are known; this retries a blocked one).")
  static final class Start extends Act {
    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.START, reason, null, null);
    }
  }

  @Command(name = "pause", description = "No node starts an update; running ones finish. With --set: no"
      + " component starts, and the rolling ones are paused.")
  static final class Pause extends Act {
    @Override
    boolean forSets() {
      return true;
    }

    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.PAUSE, reason, null, null);
    }
  }

  @Command(name = "resume", description = "Undoes pause or halt. With --set: the set goes on, and the"
      + " components it paused and every halted component are resumed.")
  static final class Resume extends Act {
    @Override
    boolean forSets() {
      return true;
    }

    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.RESUME, reason, null, null);
    }
  }

  @Command(name = "approve", description = "Lets the next wave (or --wave N) open, for plans with manual approval.")
  static final class Approve extends Act {
    @Option(names = "--wave", paramLabel = "N", description = "The wave as status prints it (1 is the first).")
    Integer wave;

    @Override
    RolloutAction action() {
      if (wave != null && wave < 1) {
        throw new ServerMain.UsageError("--wave counts from 1, as 'rollout status' prints the waves");
      }
      return new RolloutAction(RolloutAction.Action.APPROVE, reason, null, wave == null ? null : wave - 1);
    }
  }

  @Command(name = "halt", description = "Nobody else installs the release; nodes that have it keep it. With"
      + " --set: no component starts, and the rolling ones are halted.")
  static final class Halt extends Act {
    @Override
    boolean forSets() {
      return true;
    }

    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.HALT, reason, null, null);
    }
  }

  @Command(name = "recall", description = "Halt, and every node on the release switches back to the version it"
      + " came from, wave by wave in reverse, inside the availability budget. With --set: the components the"
      + " set rolled go back in reverse dependency order, each inside its own budget.")
  static final class Recall extends Act {
    @Override
    boolean forSets() {
      return true;
    }

    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.RECALL, reason, null, null);
    }
  }

  @Command(name = "retry", description = "Lets a failed node try the release again.")
  static final class Retry extends Act {
    @Option(names = "--node", paramLabel = "NODE", required = true, description = "The node.")
    String node;

    @Override
    RolloutAction action() {
      return new RolloutAction(RolloutAction.Action.RETRY, reason, node, null);
    }
  }

  /** The plan in one line. */
  static String plan(RolloutPlan p) {
    return p.strategy().name().toLowerCase(Locale.ROOT) + ", bake " + p.bakeSecondsOrDefault() + " s, approval "
        + (p.manualApproval() ? "manual" : "auto") + ", rollback " + p.rollbackOrDefault().mode();
  }
}
