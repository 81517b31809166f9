package io.upgradekit.schema.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on a directory, and what only a directory has: files to look at. */
class DirectoryStoreTest extends RepositoryStoreContract {
  @TempDir Path root;
  private DirectoryStore store;

  /** Opens the directory store at an address that is a directory path. */
  public static final class Opener implements StoreOpener {
    @Override
    public RepositoryStore open(String address) {
      return new DirectoryStore(Path.of(address));
    }
  }

  @Override
  protected RepositoryStore store() {
    if (store == null) {
      store = new DirectoryStore(root);
    }
    return store;
  }

  @Override
  protected Class<? extends StoreOpener> opener() {
    return Opener.class;
  }

  @Override
  protected String address() {
    return root.toString();
  }

  List<String> everyFile() throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).map(f -> root.relativize(f).toString()).sorted().toList();
    }
  }

  @Test
  void theSwapsBookkeepingLivesInHiddenFilesNamedByTheLayout() throws IOException {
    String pointer = RepositoryLayout.channelPointer("demo", "stable");
    RepositoryStore.Write first = store().compareAndSwap(pointer, null, 1, bytes("v1"));
    store().compareAndSwap(pointer, first.tag(), 2, bytes("v2"));

    assertThat(everyFile()).containsExactlyInAnyOrder(pointer,
        RepositoryLayout.sequenceClaim(pointer, 1, 1), RepositoryLayout.sequenceClaim(pointer, 2, 1),
        RepositoryLayout.swapLock(pointer));
    assertThat(RepositoryLayout.sequenceClaims(pointer)).isEqualTo("apps/demo/channels/.stable.sequence");
    assertThat(RepositoryLayout.swapLock(pointer)).isEqualTo("apps/demo/channels/.stable.json.lock");
    assertThat(list("")).containsExactly(pointer);
    assertThat(first.tag()).as("a directory's tag is the content's SHA-256").isEqualTo(Hashes.sha256(bytes("v1")));
  }

  @Test
  void aHugeFileIsRefusedWithoutBeingRead() throws IOException {
    String path = RepositoryLayout.channelPointer("demo", "stable");
    Path file = root.resolve(path);
    Files.createDirectories(file.getParent());
    try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
      sparse.setLength(3L << 30); // 3 GiB of holes: more than any byte[] can hold
    }

    assertCode(() -> store().read(path, 64 * 1024), ErrorCode.METADATA_TOO_LARGE);
    assertCode(() -> store().compareAndSwap(path, "anything", 2, bytes("v2")), ErrorCode.METADATA_TOO_LARGE);
  }

  @Test
  void aRefusedBlobLeavesNoFileBehindNotEvenATempFile() throws IOException {
    byte[] blob = bytes("content");
    assertCode(() -> store().putBlob(Hashes.sha256(blob), blob.length, new ByteArrayInputStream(bytes("CONTENT"))),
        ErrorCode.HASH_MISMATCH);

    assertThat(everyFile()).isEmpty();
  }

  @Test
  void aBlobDamagedOnDiskIsReplacedByTheCheckedContent() throws IOException {
    byte[] blob = bytes("the whole blob");
    String sha = Hashes.sha256(blob);
    Path file = root.resolve(RepositoryLayout.blob(sha));
    Files.createDirectories(file.getParent());
    Files.write(file, bytes("the who")); // cut short

    assertThat(store().putBlob(sha, blob.length, new ByteArrayInputStream(blob))).isTrue();
    assertThat(file).hasBinaryContent(blob);
  }
}
