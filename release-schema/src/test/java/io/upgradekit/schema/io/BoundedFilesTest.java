package io.upgradekit.schema.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoundedFilesTest {
  @TempDir
  Path tmp;

  @Test
  void readsAFileOfUpToTheLimit() throws Exception {
    Path file = Files.write(tmp.resolve("state.json"), new byte[100]);
    assertThat(BoundedFiles.read(file, 100)).hasSize(100);
    assertThat(BoundedFiles.read(Files.write(tmp.resolve("empty"), new byte[0]), 0)).isEmpty();
  }

  @Test
  void oneByteMoreThanTheLimitIsTooLarge() throws Exception {
    Path file = Files.write(tmp.resolve("state.json"), new byte[101]);
    assertThatThrownBy(() -> BoundedFiles.read(file, 100))
        .isInstanceOfSatisfying(BoundedFiles.TooLargeException.class, e -> {
          assertThat(e.file()).isEqualTo(file);
          assertThat(e.limit()).isEqualTo(100);
        })
        .hasMessageContaining("holds more than 100 bytes");
  }

  @Test
  void aHugeFileCostsOnlyTheLimit() throws Exception {
    Path file = tmp.resolve("huge");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(8L << 30); // sparse; reading it whole would need 8 GiB of heap
    }
    assertThatThrownBy(() -> BoundedFiles.read(file, 1024 * 1024)).isInstanceOf(BoundedFiles.TooLargeException.class);
  }

  @Test
  void aMissingFileOrOneThatIsNotRegularIsRefused() throws Exception {
    assertThatThrownBy(() -> BoundedFiles.read(tmp.resolve("absent"), 10)).isInstanceOf(NoSuchFileException.class);
    Path dir = Files.createDirectory(tmp.resolve("dir"));
    assertThatThrownBy(() -> BoundedFiles.read(dir, 10)).isInstanceOf(IOException.class)
        .hasMessageContaining("not a regular file");
  }
}
