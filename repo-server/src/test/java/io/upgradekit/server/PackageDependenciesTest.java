package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The server's packages depend one way: {@code cli} → {@code server} (the assembly and its public
 * start/stop API) → {@code http} (Jetty adapters) → {@code fleet} (heartbeats, leases, the rollout
 * controller's loop and operations) → {@code core} and {@code rollout} (plain Java over
 * release-schema; {@code rollout} is the controller's pure logic).
 * Read from the sources' imports, so that a cycle fails the build where it is introduced.
 */
class PackageDependenciesTest {
  static final Path SOURCES = Path.of("src/main/java/io/upgradekit/server");
  static final Pattern QUALIFIED = Pattern.compile("\\bio\\.upgradekit\\.server\\.(?:([a-z]+)\\.)?[A-Z]\\w*");

  /** Every reference from the sources of {@code pkg} (null: the top package) to another server package. */
  static List<String> references(String pkg) throws IOException {
    Path dir = pkg == null ? SOURCES : SOURCES.resolve(pkg);
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(file -> {
        try {
          String text = Files.readString(file);
          Matcher m = QUALIFIED.matcher(text);
          while (m.find()) {
            String target = m.group(1) == null ? "server" : m.group(1);
            if (!target.equals(pkg == null ? "server" : pkg)) {
              found.add(file.getFileName() + " -> " + target + ": " + m.group());
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
    return found;
  }

  @Test
  void theCoreDependsOnNoOtherServerPackageAndNoAdapterLibrary() throws IOException {
    assertThat(references("core")).isEmpty();
    try (Stream<Path> files = Files.list(SOURCES.resolve("core"))) {
      for (Path file : files.toList()) {
        assertThat(Files.readString(file)).as(file.toString()).doesNotContain("org.eclipse.jetty", "picocli");
      }
    }
  }

  @Test
  void theHttpAdaptersDependOnlyOnTheCoreAndTheFleetServices() throws IOException {
    assertThat(references("http")).allMatch(r -> r.contains(" -> core: ") || r.contains(" -> fleet: "));
  }

  @Test
  void theFleetServicesDependOnlyOnTheCoreAndTheRolloutLogic() throws IOException {
    assertThat(references("fleet")).allMatch(r -> r.contains(" -> core: ") || r.contains(" -> rollout: "));
  }

  @Test
  void theRolloutLogicDependsOnNoOtherServerPackage() throws IOException {
    assertThat(references("rollout")).isEmpty();
  }

  @Test
  void theAssemblyDependsOnAdaptersAndCoreButNotOnTheCommandLine() throws IOException {
    assertThat(references(null)).noneMatch(r -> r.contains(" -> cli: "));
  }
}
