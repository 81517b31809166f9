package io.upgradekit.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.DirectoryStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A blob never changes by design, but a damaged one is restored from a copy by an operator: the
 * server must then serve the restored bytes, not the damaged ones it holds in memory, without a
 * restart.
 */
class RestoredBlobTest {
  private static final Duration REFRESH = Duration.ofSeconds(1);

  @TempDir Path root;

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final byte[] good = "the content of a small blob".getBytes(StandardCharsets.UTF_8);
  private final String path = RepositoryLayout.blob(Hashes.sha256(good));

  @Test
  void aDirectoryServesARestoredBlobWithinTheRefreshInterval() throws IOException {
    writeByRename(damaged());
    DirectoryFiles files = new DirectoryFiles(root, REFRESH, clock::get);

    assertThat(content(files.lookup(path))).isEqualTo(damaged());
    writeByRename(good);
    assertThat(content(files.cached(path))).as("within the refresh interval").isEqualTo(damaged());

    clock.addAndGet(REFRESH.toNanos() + 1);
    assertThat(files.cached(path)).as("the entry no longer describes the file").isNull();
    assertThat(content(files.lookup(path))).isEqualTo(good);
  }

  @Test
  void aStoreLooksUpADamagedBlobAgainAndKeepsAGoodOne() throws IOException {
    writeByRename(damaged());
    List<String> warnings = new ArrayList<>();
    StoreFiles files = new StoreFiles(new DirectoryStore(root), REFRESH, clock::get, warnings::add);

    assertThat(content(files.lookup(path))).isEqualTo(damaged());
    assertThat(warnings).singleElement().asString().contains(path, "does not hash to its name");
    writeByRename(good);

    clock.addAndGet(REFRESH.toNanos() + 1);
    assertThat(files.cached(path)).as("a damaged blob is looked up again").isNull();
    assertThat(content(files.lookup(path))).isEqualTo(good);

    clock.addAndGet(REFRESH.toNanos() * 1000);
    assertThat(content(files.cached(path))).as("a good blob is known for good").isEqualTo(good);
    assertThat(warnings).hasSize(1);
  }

  private byte[] damaged() {
    byte[] bytes = Arrays.copyOf(good, good.length);
    bytes[3] ^= 0x10;
    return bytes;
  }

  /** As a restore from a copy does: a new file renamed over the old one. */
  private void writeByRename(byte[] bytes) throws IOException {
    Path file = root.resolve(path);
    Files.createDirectories(file.getParent());
    Path temp = Files.createTempFile(file.getParent(), ".restore", ".tmp");
    Files.write(temp, bytes);
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static byte[] content(StaticFiles.Entry entry) {
    assertThat(entry).isNotNull();
    ByteBuffer content = entry.content.duplicate();
    byte[] bytes = new byte[content.remaining()];
    content.get(bytes);
    return bytes;
  }
}
