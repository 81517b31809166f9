package io.upgradekit.plugin;

import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.PointerResigner;
import io.upgradekit.plugin.release.ReleaseRequest;
import io.upgradekit.plugin.release.Repositories;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Re-signs a channel pointer with a new expiry: the same release, the next sequence. For CI on a
 * schedule, so that a channel that sees no release for longer than the pointer's lifetime does not
 * expire under its nodes. Refuses when the release's own manifest expires before the new pointer
 * would, saying what to do. Works without a project ({@code mvn upgrade:resign -Dupgrade.app=...}).
 */
@Mojo(name = "resign", requiresProject = false, threadSafe = true)
public class ResignMojo extends PublishingMojo {
  /** The app whose channel to re-sign. Default: the artifactId. */
  @Parameter(property = "upgrade.app", defaultValue = "${project.artifactId}")
  String app;

  /** The channel whose pointer to re-sign. Default: {@code stable}. */
  @Parameter(property = "upgrade.channel", defaultValue = "stable")
  String channel;

  /**
   * Days from now until the re-signed pointer expires (the same parameter as {@code release}'s,
   * which counts from the build timestamp). Default: 365.
   */
  @Parameter(property = "upgrade.pointerExpiryDays", defaultValue = "365")
  int pointerExpiryDays;

  /**
   * Re-sign only when the pointer expires within this many days; a run that finds more left
   * changes nothing. Lets CI run the goal often (daily) while the pointer's sequence moves only
   * when needed. Default: none (re-sign every time).
   */
  @Parameter(property = "upgrade.resignWithinDays")
  Integer resignWithinDays;

  @Override
  String goal() {
    return "resign";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    Consumer<Event> events = events();
    PointerResigner.Result result = MojoErrors.run(() -> {
      Token token = token();
      PointerResigner.Request request = new PointerResigner.Request(app, channel, repository, token.value(),
          signingKey(events), Duration.ofDays(pointerExpiryDays),
          resignWithinDays == null ? null : Duration.ofDays(resignWithinDays), ReleaseRequest.DEFAULT_POINTER_ATTEMPTS);
      return new PointerResigner((location, value) -> Repositories.open(location, value, token.source(),
          baseDirectory(), message -> events.accept(Event.info(message))), clock, events).resign(request);
    });
    getLog().info((result.resigned() ? "Re-signed" : "Left as it is:") + " " + result.app() + "/" + result.channel()
        + " -> " + result.version() + " in " + result.repository() + " (sequence " + result.sequence() + ", expires "
        + result.expires() + ")");
  }
}
