package io.upgradekit.updater.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every rename and link of the updater goes through release-schema's {@code DurableFiles}: one
 * atomic rename and a forced directory, never a non-atomic fallback. A hand-written {@code
 * Files.move} (or link) in the updater's sources fails this test.
 */
class DurableRenamesTest {
  private static final List<String> FORBIDDEN = List.of("Files.move(", "Files.createSymbolicLink(",
      "Files.createLink(", "StandardCopyOption.ATOMIC_MOVE");

  @Test
  void noSourceFileRenamesOrLinksByHand() throws IOException {
    Path sources = Path.of("src/main/java");
    assertThat(sources).isDirectory();
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(sources)) {
      for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
          for (String call : FORBIDDEN) {
            if (lines.get(i).contains(call)) {
              found.add(sources.relativize(file) + ":" + (i + 1) + ": " + lines.get(i).strip());
              break;
            }
          }
        }
      }
    }
    assertThat(found).as("renames and links outside DurableFiles").isEmpty();
  }
}
