package io.upgradekit.schema.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
  @TempDir
  Path tmp;

  @Test
  void deletesReadOnlyTreesWithoutFollowingLinks() throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("keep.txt"), "keep");
    Path tree = Files.createDirectories(tmp.resolve("versions/1.0.0/lib"));
    Files.writeString(tree.resolve("app.jar"), "jar");
    Files.createSymbolicLink(tree.resolve("link-to-outside"), outside);
    Files.setPosixFilePermissions(tree, PosixFilePermissions.fromString("r-xr-xr-x"));
    Files.setPosixFilePermissions(tree.getParent(), PosixFilePermissions.fromString("r-xr-xr-x"));

    FileTrees.deleteRecursively(tmp.resolve("versions/1.0.0"));

    assertThat(tmp.resolve("versions/1.0.0")).doesNotExist();
    assertThat(outside.resolve("keep.txt")).hasContent("keep");
  }

  @Test
  void aMissingTreeOrASingleFileIsFine() throws Exception {
    FileTrees.deleteRecursively(tmp.resolve("absent"));
    Path file = Files.writeString(tmp.resolve("file"), "x");
    FileTrees.deleteRecursively(file);
    assertThat(file).doesNotExist();
  }
}
