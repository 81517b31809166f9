package io.upgradekit.updater.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real distribution in tests that run after {@code package} (failsafe): {@code bin/updater}
 * and the shaded {@code lib/node-updater.jar} from the dist tarball, installed as an operator does,
 * run as real processes with the launcher's own JVM flags (its 64 MB heap included).
 */
public final class Distribution {
  /** How a run of {@code bin/updater} ended. */
  public record Run(int status, String output) {}

  private Distribution() {}

  /** Unpacks the distribution into {@code home} (its top directory becomes the updater home). */
  public static void install(Path home) throws IOException, InterruptedException {
    Files.createDirectories(home);
    Process tar = new ProcessBuilder("tar", "-xzf", tarball().toAbsolutePath().toString(), "-C", home.toString(),
        "--strip-components=1").inheritIO().start();
    assertThat(tar.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(tar.exitValue()).isZero();
    assertThat(home.resolve("bin/updater")).isExecutable();
    assertThat(home.resolve("lib/node-updater.jar")).isRegularFile();
  }

  /**
   * Runs {@code bin/updater} of an installed home to its end, at most {@code limitSeconds}, with
   * the launcher's default JVM flags ({@code UPDATER_JAVA_OPTS} unset).
   */
  public static Run run(Path home, Path config, Map<String, String> environment, int limitSeconds, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("sh", home.resolve("bin/updater").toString()));
    command.addAll(List.of(args));
    Path log = Files.createTempFile(home.getParent(), "run", ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().remove("JAVA_HOME");
    builder.environment().remove("UPDATER_JAVA_OPTS");
    builder.environment().put("JAVA", ProcessHandle.current().info().command().orElse("java"));
    builder.environment().put("UPGRADEKIT_CONFIG", config.toString());
    builder.environment().putAll(environment);
    Process p = builder.start();
    if (!p.waitFor(limitSeconds, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("bin/updater " + String.join(" ", args) + " did not finish in " + limitSeconds
          + " s:\n" + Files.readString(log));
    }
    String output = Files.readString(log);
    System.out.println("$ bin/updater " + String.join(" ", args) + " -> " + p.exitValue() + "\n" + output);
    return new Run(p.exitValue(), output);
  }

  private static Path tarball() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("target"))) {
      return files.filter(f -> f.getFileName().toString().matches("node-updater-.*-dist\\.tar\\.gz")).findFirst()
          .orElseThrow(() -> new AssertionError("no target/node-updater-*-dist.tar.gz: run 'mvn verify', which "
              + "packages before this test"));
    }
  }
}
