package io.upgradekit.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child JVM started with the JVM options of the node updater's distribution (its default
 * {@code UPDATER_JAVA_OPTS} in node-updater/src/dist/bin/updater: a 64 MiB heap, 256 KiB thread
 * stacks, ...), read from the script itself so that the tests follow it when it changes.
 */
public final class DistributionJvm {
  private static final Pattern OPTIONS = Pattern.compile("UPDATER_JAVA_OPTS=\\$\\{UPDATER_JAVA_OPTS:-([^}]*)}");

  private DistributionJvm() {}

  /** The distribution's default JVM options. */
  public static List<String> options() throws IOException {
    // The module runs in <repo>/release-schema.
    Path script = Path.of("").toAbsolutePath().getParent().resolve("node-updater/src/dist/bin/updater");
    assertThat(script).as("the node updater's launcher script").isRegularFile();
    Matcher m = OPTIONS.matcher(Files.readString(script, StandardCharsets.UTF_8));
    assertThat(m.find()).as("UPDATER_JAVA_OPTS default in " + script).isTrue();
    List<String> options = Arrays.asList(m.group(1).trim().split("\\s+"));
    assertThat(options).anyMatch(o -> o.startsWith("-Xmx"));
    return options;
  }

  /** Output (stdout and stderr) and exit status of a finished child. */
  public record Result(int status, String output) {}

  /** Runs {@code main} with the test class path under the distribution's options; at most 120 s. */
  public static Result run(Class<?> main, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(options());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    Path log = Files.createTempFile("child", ".log");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("child JVM did not finish in 120 s: " + Files.readString(log));
      }
      return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }
}
