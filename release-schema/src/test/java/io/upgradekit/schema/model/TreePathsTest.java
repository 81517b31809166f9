package io.upgradekit.schema.model;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Fixtures;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The one portable rule set for tree paths (docs/delta-format.md, "Paths"). */
class TreePathsTest {
  @ParameterizedTest
  @ValueSource(strings = {
      "", "/etc/passwd", "a//b", "a/", "./a", "a/./b", "../x", "a/../../x", // relative, no empty, . or ..
      "C:x", "c:/windows", "a/b:stream", "a\\b", "a<b", "a>b", "a\"b", "a|b", "a?b", "a*b", // not portable
      "nul\0", "a\tb", "a\u007fb", "a\u0085b", "a\ufffdb", "a\ud800b", // control characters, not Unicode
      "CON", "con.txt", "lib/Nul.tar.gz", "aux", "PRN", "com1", "LPT9.log", "com\u00b9", "lpt0", "con .txt",
      "a.", "dir./x", "a ", "dir /x"}) // Windows drops trailing dots and spaces
  void refusesEveryPathThatIsNotPortable(String path) {
    assertCode(() -> TreePaths.requireSafe(path), ErrorCode.PAYLOAD_INVALID);
    assertCode(() -> TreeEntry.directory(path), ErrorCode.PAYLOAD_INVALID);
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "lib/app-1.0.jar", ".hidden/x", "a..b", "console.txt", "com10", "lpt", "nul_x",
      "x.con", "caf\u00e9/\u65e5\u672c", "emoji\ud83d\ude00", "a b/c d", "README", "-x", "x~"})
  void acceptsOrdinaryNames(String path) {
    assertThat(TreePaths.requireSafe(path)).isEqualTo(path);
  }

  @Test
  void boundsSegmentsAndPaths() {
    assertThat(TreePaths.requireSafe("a".repeat(255))).hasSize(255);
    assertCode(() -> TreePaths.requireSafe("a".repeat(256)), ErrorCode.PAYLOAD_INVALID);
    assertCode(() -> TreePaths.requireSafe("\u00e9".repeat(128)), ErrorCode.PAYLOAD_INVALID); // 256 bytes
    String deep = ("a".repeat(99) + "/").repeat(10) + "b".repeat(14); // 1014 characters
    assertThat(TreePaths.requireSafe(deep)).isEqualTo(deep);
    assertCode(() -> TreePaths.requireSafe(deep + "/" + "c".repeat(10)), ErrorCode.PAYLOAD_INVALID);
  }

  @Test
  void linkTargetsAreRelativePortableAndStayInside() {
    TreePaths.requireLinkInsideTree("lib/a.jar", "../bin/b");
    TreePaths.requireLinkInsideTree("a", ".");
    TreePaths.requireLinkInsideTree("a/b", "./../c");
    for (String bad : List.of("", "/etc/passwd", "../x", "C:x", "..\\..\\x", "a//b", "b/", "con", "x/aux.c",
        "a\0b", "b.")) {
      assertCode(() -> TreePaths.requireLinkInsideTree("a", bad), ErrorCode.PAYLOAD_INVALID);
      assertCode(() -> TreeEntry.symlink("a", bad), ErrorCode.PAYLOAD_INVALID);
    }
  }

  @Test
  void aTreeRefusesPathsThatDifferOnlyByCaseOrNormalization() {
    String sha = Hashes.sha256(new byte[0]);
    for (List<String> clash : List.of(List.of("README", "readme"), List.of("Lib/a", "lib/b"), List.of("a", "A/x"),
        List.of("x/caf\u00e9", "x/cafe\u0301"), List.of("d/Stra\u00dfe", "d/STRASSE"), List.of("a/B/c", "a/b-x", "a/b/d"))) {
      List<TreeEntry> entries = clash.stream().map(p -> TreeEntry.file(p, 0, sha, false)).toList();
      assertThatThrownBy(() -> new PayloadTree(entries)).isInstanceOfSatisfying(UpgradeException.class, e -> {
        assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_INVALID);
        assertThat(e.getMessage()).contains("differ only by letter case");
      });
    }
    assertThat(new PayloadTree(List.of(TreeEntry.file("a/b", 0, sha, false), TreeEntry.file("a-b", 0, sha, false),
        TreeEntry.file("A-c/x", 0, sha, false), TreeEntry.file("ab", 0, sha, false))).entries()).hasSize(4);
  }

  @Test
  void aTreeBoundsItsNameBytes() {
    String sha = Hashes.sha256(new byte[0]);
    String dir = ("d".repeat(200) + "/").repeat(5);
    int perEntry = dir.length() + 6;
    int n = PayloadTree.MAX_NAME_BYTES / perEntry + 1;
    List<TreeEntry> entries = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      entries.add(TreeEntry.file(dir + String.format("%06d", i), 0, sha, false));
    }
    assertCode(() -> new PayloadTree(entries), ErrorCode.METADATA_TOO_LARGE);
    assertThat(new PayloadTree(entries.subList(0, n - 1)).entries()).hasSize(n - 1);
  }

  @Test
  void aSignedManifestWithADriveLetterPathIsMalformed() throws Exception {
    String json = new String(Json.canonicalBytes(Fixtures.manifest("shop", "1.0.0", 1, Fixtures.NEXT_YEAR)),
        StandardCharsets.UTF_8);
    String original = Fixtures.tree().treeHash();
    // Rename "logs" to "C:logs" and recompute the tree hash the way PayloadTree does, so that only
    // the path rule can refuse it.
    MessageDigest digest = Hashes.newSha256();
    for (TreeEntry e : Fixtures.tree().entries()) {
      String path = e.path().equals("logs") ? "C:logs" : e.path();
      String line = e.type() + "\0" + path + "\0" + e.size() + "\0" + (e.sha256() == null ? "" : e.sha256()) + "\0"
          + (e.executable() ? "x" : "-") + "\0" + (e.target() == null ? "" : e.target()) + "\n";
      digest.update(line.getBytes(StandardCharsets.UTF_8));
    }
    String forged = json.replace("\"path\":\"logs\"", "\"path\":\"C:logs\"")
        .replace(original, Hashes.hex(digest.digest()));
    assertThatThrownBy(() -> Json.read(forged.getBytes(StandardCharsets.UTF_8), DocumentType.RELEASE,
        ReleaseManifest.class)).isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.METADATA_MALFORMED);
          assertThat(e.getMessage()).contains("C:logs").contains("':'");
        });
  }
}
