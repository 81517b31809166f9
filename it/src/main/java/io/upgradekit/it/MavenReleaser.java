package io.upgradekit.it;

import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.schema.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Releases hello-service the way a developer does: {@code ./mvnw package upgrade:release} (and
 * {@code upgrade:keygen}) as a subprocess, on a private copy of {@code examples/hello-service} so the
 * checkout's {@code target/} is never touched. Output goes to a log file per run.
 *
 * <p>Which plugin runs: with {@link Artifacts#mavenLocalRepository()} set (the failsafe run), an
 * isolated local repository that {@code invoker:install} filled with this build's plugin, and the
 * outer build's local repository as a remote for everything else; otherwise the user's local
 * repository (after {@code ./mvnw install}, as {@code demo.sh} does).
 */
public final class MavenReleaser implements Releaser {
  /** The longest one Maven run may take (a cold local repository downloads plugins). */
  public static final Duration TIMEOUT = Duration.ofMinutes(5);

  private final Artifacts artifacts;
  private final Path project;
  private final Path keyFile;
  private final String repository;
  private final String token;
  private final Path logs;
  private final Path settings;
  private List<String> lastCommand = List.of();
  private int runs;

  private MavenReleaser(Artifacts artifacts, Path project, Path keyFile, String repository, String token, Path logs,
      Path settings) {
    this.artifacts = artifacts;
    this.project = project;
    this.keyFile = keyFile;
    this.repository = repository;
    this.token = token;
    this.logs = logs;
    this.settings = settings;
  }

  /**
   * Copies the example project into {@code workDir/hello-service}.
   *
   * @param keyFile the release key file ({@code upgrade.keyFile})
   * @param repository a repository directory or repo-server's URL ({@code upgrade.repository})
   */
  public static MavenReleaser create(Artifacts artifacts, Path workDir, Path keyFile, String repository, Path logs) {
    return create(artifacts, artifacts.helloProject(), workDir, keyFile, repository, logs);
  }

  /**
   * Copies another example project ({@code examples/shop}, with its modules) into {@code
   * workDir/<its directory name>}, for {@link #maven} runs; {@link #release} is hello-service's.
   */
  public static MavenReleaser create(Artifacts artifacts, Path source, Path workDir, Path keyFile, String repository,
      Path logs) {
    Path project = workDir.resolve(source.getFileName().toString());
    try {
      copyProject(source, project, artifacts.projectRoot().resolve("pom.xml"));
      Path settings = null;
      if (artifacts.mavenLocalRepository() != null) {
        settings = workDir.resolve("settings.xml");
        Files.writeString(settings, settingsXml(artifacts.mavenRemoteRepository()), StandardCharsets.UTF_8);
      }
      return new MavenReleaser(artifacts, project, keyFile, repository, null, logs, settings);
    } catch (IOException e) {
      throw new HarnessException("cannot copy " + source + " to " + project + ": " + e, e);
    }
  }

  /** The same, publishing over HTTP with repo-server's publisher token ({@code UPGRADE_TOKEN}). */
  public MavenReleaser withToken(String publishToken) {
    return new MavenReleaser(artifacts, project, keyFile, repository, publishToken, logs, settings);
  }

  /** The same, publishing to another repository (a directory or a URL). */
  public MavenReleaser withRepository(String newRepository) {
    return new MavenReleaser(artifacts, project, keyFile, newRepository, token, logs, settings);
  }

  /** The private copy of the example project. */
  public Path project() {
    return project;
  }

  /** The Maven command line of the last run (for display), without the harness's own options. */
  public List<String> lastCommand() {
    return lastCommand;
  }

  /**
   * {@code mvn upgrade:keygen}: creates the release key and, in a directory repository without one,
   * the first trust root naming it.
   */
  public Command.Result keygen() {
    return maven("keygen", List.of("upgrade:keygen", "-Dupgrade.keyFile=" + keyFile,
        "-Dupgrade.repository=" + repository)).requireSuccess("mvn upgrade:keygen");
  }

  @Override
  public ReleaseResult release(HelloBuild build) {
    List<String> goals = new ArrayList<>(List.of("package", "upgrade:release", "-DskipTests",
        "-Dupgrade.keyFile=" + keyFile, "-Dupgrade.repository=" + repository,
        "-Dupgrade.version=" + build.version(), "-Dhello.greeting=" + build.greeting(),
        "-Dhello.healthy=" + build.healthy(), "-Dhello.errorRate=" + build.errorRate(),
        "-Dhello.errorsAfter=" + build.errorsAfterSeconds()));
    maven("release-" + build.version(), goals).requireSuccess("mvn package upgrade:release (" + build.version() + ")");
    Path summary = project.resolve("target/upgrade/release.json");
    try {
      return Json.read(Files.readAllBytes(summary), ReleaseResult.class, summary.toString());
    } catch (IOException e) {
      throw new HarnessException("mvn upgrade:release wrote no " + summary + ": " + e, e);
    }
  }

  /**
   * {@code mvn upgrade:verify -Dupgrade.repository=<repository>}: checks the whole repository. Not
   * required to succeed: a repository with problems fails the build, and the log lists them as
   * {@code [ERROR] CODE path: message}.
   */
  public Command.Result verify() {
    return maven("verify", List.of("upgrade:verify", "-Dupgrade.repository=" + repository));
  }

  /** Runs {@code mvnw -B -ntp -f <project> <arguments>}; output to {@code logs/mvn-<name>-<n>.log}. */
  public Command.Result maven(String name, List<String> arguments) {
    List<String> shown = new ArrayList<>(List.of("./mvnw", "-B", "-f", project.toString()));
    shown.addAll(arguments);
    lastCommand = List.copyOf(shown);
    List<String> command = new ArrayList<>(List.of(artifacts.mvnw().toString(), "-B", "-ntp", "-f",
        project.resolve("pom.xml").toString()));
    if (settings != null) {
      command.addAll(List.of("-s", settings.toString(), "-Dmaven.repo.local=" + artifacts.mavenLocalRepository(),
          // With -Dit.forkCount=2 test classes run side by side on the one isolated local repository:
          // file locks keep two nested builds from writing the same artifact at once.
          "-Daether.syncContext.named.factory=file-lock", "-Daether.syncContext.named.nameMapper=file-gav"));
    }
    command.addAll(arguments);
    Map<String, String> env = new HashMap<>();
    env.put("JAVA_HOME", Jvm.home());
    // C1 only: a short Maven run is mostly start-up, and the machine is shared with the services.
    env.put("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto");
    env.put("MAVEN_ARGS", null); // never the outer build's arguments
    env.put("MAVEN_BASEDIR", null);
    if (token != null) {
      env.put("UPGRADE_TOKEN", token);
    }
    return Command.run(command, env, artifacts.projectRoot(), logs.resolve("mvn-" + name + "-" + (++runs) + ".log"),
        TIMEOUT);
  }

  /**
   * Copies the project (its modules too) without what builds left ({@code target/}), pointing the
   * top pom's parent relativePath at the checkout's root pom.
   */
  private static void copyProject(Path from, Path to, Path rootPom) throws IOException {
    Files.createDirectories(to);
    String pom = Files.readString(from.resolve("pom.xml"), StandardCharsets.UTF_8);
    String relative = to.toAbsolutePath().relativize(rootPom.toAbsolutePath()).toString();
    String rewritten = pom.replaceFirst("<relativePath>[^<]*</relativePath>",
        "<relativePath>" + relative + "</relativePath>");
    if (rewritten.equals(pom) && !pom.contains("<relativePath>" + relative + "</relativePath>")) {
      throw new HarnessException(from.resolve("pom.xml") + " has no <relativePath> to rewrite");
    }
    Files.writeString(to.resolve("pom.xml"), rewritten, StandardCharsets.UTF_8);
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path inside = from.relativize(p);
        if (inside.toString().isEmpty() || inside.equals(Path.of("pom.xml")) || isBuildOutput(inside)) {
          continue;
        }
        Path target = to.resolve(inside.toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static boolean isBuildOutput(Path inside) {
    for (Path name : inside) {
      if (name.toString().equals("target")) {
        return true;
      }
    }
    return false;
  }

  /** Resolves third-party artifacts from the outer build's local repository first, then Central. */
  private static String settingsXml(Path remote) {
    String url = remote == null ? "https://repo.maven.apache.org/maven2" : remote.toUri().toString();
    return """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- Written by the end-to-end harness (MavenReleaser): the outer build's local repository as a remote. -->
        <settings>
          <profiles>
            <profile>
              <id>outer-local-repository</id>
              <activation><activeByDefault>true</activeByDefault></activation>
              <repositories>
                <repository>
                  <id>outer-local</id>
                  <url>%1$s</url>
                  <releases><enabled>true</enabled></releases>
                  <snapshots><enabled>false</enabled></snapshots>
                </repository>
              </repositories>
              <pluginRepositories>
                <pluginRepository>
                  <id>outer-local</id>
                  <url>%1$s</url>
                  <releases><enabled>true</enabled></releases>
                  <snapshots><enabled>false</enabled></snapshots>
                </pluginRepository>
              </pluginRepositories>
            </profile>
          </profiles>
        </settings>
        """.formatted(url);
  }
}
