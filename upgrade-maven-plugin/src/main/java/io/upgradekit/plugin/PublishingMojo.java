package io.upgradekit.plugin;

import io.upgradekit.plugin.release.BuildTimestamps;
import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.SigningKeys;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.sign.SigningKey;
import java.io.File;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.maven.plugins.annotations.Component;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.apache.maven.settings.Server;
import org.apache.maven.settings.Settings;
import org.apache.maven.settings.building.SettingsProblem;
import org.apache.maven.settings.crypto.DefaultSettingsDecryptionRequest;
import org.apache.maven.settings.crypto.SettingsDecrypter;
import org.apache.maven.settings.crypto.SettingsDecryptionResult;

/**
 * What the goals that sign and publish share ({@code release}, {@code release-set}): the
 * repository, the release key, the publisher token and the build's timestamp.
 */
abstract class PublishingMojo extends UpgradeMojo {
  /** Environment variable with the publisher token for an HTTP repository. */
  static final String TOKEN_VARIABLE = "UPGRADE_TOKEN";

  /**
   * Where to publish: a directory (relative paths resolve against the project's base directory),
   * the {@code http(s)://} URL of a repo-server, or a bucket of an S3-compatible object store,
   * written directly: {@code s3://<bucket>[/<prefix>][?endpoint=<url>&region=<name>&pathStyle=true]}
   * ({@code endpoint} and {@code pathStyle=true} for stores other than AWS, e.g. Ceph RGW or MinIO).
   * The store's credentials come only from the AWS SDK's default chain ({@code AWS_ACCESS_KEY_ID}
   * and {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_PROFILE}, the instance's role), never from the
   * pom. No default.
   */
  @Parameter(property = "upgrade.repository")
  String repository;

  /**
   * The release key file written by {@code upgrade:keygen} (both PEM blocks). If it is not set, or
   * the file does not exist and {@code UPGRADE_SIGNING_KEY} is set, the key is read from that
   * environment variable instead (CI secrets). Keep the file outside the project. No default.
   */
  @Parameter(property = "upgrade.keyFile")
  File keyFile;

  /**
   * For an HTTP repository: the id of a {@code settings.xml} {@code <server>} whose {@code
   * <password>} is the publisher token (may be encrypted with {@code mvn --encrypt-password}).
   * Without it, the token is read from the {@code UPGRADE_TOKEN} environment variable. No default.
   */
  @Parameter(property = "upgrade.serverId")
  String serverId;

  /**
   * The timestamp of what is published (a manifest's or a set's {@code created}; expiries count from
   * it), so that the same build gives the same bytes. ISO-8601 or epoch seconds. Default: {@code
   * project.build.outputTimestamp}; the current time if that is not set.
   */
  @Parameter(defaultValue = "${project.build.outputTimestamp}")
  String outputTimestamp;

  /** The project being built (injected; not configurable). */
  @Parameter(defaultValue = "${project}", readonly = true, required = true)
  MavenProject project;

  /** The user's settings, for {@code <serverId>} (injected; not configurable). */
  @Parameter(defaultValue = "${settings}", readonly = true)
  Settings settings;

  @Component
  SettingsDecrypter settingsDecrypter;

  /** The process environment; replaced in tests. */
  Map<String, String> environment = System.getenv();

  /** The publisher token and where it came from (for error messages, never the value). */
  record Token(String value, String source) {}

  final SigningKey signingKey(Consumer<Event> events) {
    return SigningKeys.load(keyFile == null ? null : keyFile.toPath(),
        environment.get(SigningKeys.ENVIRONMENT_VARIABLE), events);
  }

  /** The build's timestamp, or now (with a warning) without one. */
  final Instant timestamp(Consumer<Event> events) {
    Optional<Instant> timestamp = BuildTimestamps.parse(outputTimestamp);
    if (timestamp.isEmpty()) {
      events.accept(Event.warning("project.build.outputTimestamp is not set: the " + goal() + " is stamped with the"
          + " current time, so rebuilding it gives other bytes. Set <project.build.outputTimestamp> for reproducible"
          + " releases"));
    }
    return timestamp.orElseGet(() -> clock.instant().truncatedTo(ChronoUnit.SECONDS));
  }

  final Token token() {
    if (repository == null || !Repositories.isUrl(repository)) {
      return new Token(null, null);
    }
    if (serverId != null && !serverId.isBlank()) {
      Server server = settings == null ? null : settings.getServer(serverId);
      if (server == null) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<serverId> " + serverId + " names no <server> in"
            + " settings.xml: add <server><id>" + serverId + "</id><password>TOKEN</password></server>, or set "
            + TOKEN_VARIABLE);
      }
      SettingsDecryptionResult decrypted = settingsDecrypter.decrypt(new DefaultSettingsDecryptionRequest(server));
      for (SettingsProblem problem : decrypted.getProblems()) {
        getLog().warn("settings.xml <server> " + serverId + ": " + problem.getMessage());
      }
      return new Token(decrypted.getServer().getPassword(), "the <password> of the settings.xml <server> '" + serverId
          + "' (<serverId>)");
    }
    return new Token(environment.get(TOKEN_VARIABLE), "the " + TOKEN_VARIABLE + " environment variable");
  }
}
