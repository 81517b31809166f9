package io.upgradekit.schema.delta;

import static io.upgradekit.schema.delta.TestTrees.random;
import static io.upgradekit.schema.delta.TestTrees.stored;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.DeltaApplier.ApplyRequest;
import io.upgradekit.schema.delta.DeltaBuilder.Contribution;
import io.upgradekit.schema.delta.DeltaBuilder.DiffRequest;
import io.upgradekit.schema.delta.DeltaBuilder.DiffResult;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Round trips of jars in the shapes issue 13 names: bundled web assets renamed by content hash,
 * a jar whose changed content exceeds the group stream (and an entry beyond the diffed-entry cap),
 * an entry no JDK deflate level reproduces; and the format version rules around them.
 */
class ZipEntryDeltaTest {
  @TempDir Path tmp;

  /** Script-like lines of random identifiers: unique per seed, so chunks of different seeds are unrelated. */
  private static String chunk(long seed, int lines) {
    Random r = new Random(seed);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      s.append("const v").append(i).append('=');
      for (int k = 0; k < 60; k++) {
        s.append(k % 12 == 11 ? '.' : (char) ('a' + r.nextInt(26)));
      }
      s.append(";\n");
    }
    return s.toString();
  }

  private static byte[] jar(Map<String, String> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (Map.Entry<String, String> e : entries.entrySet()) {
        ZipEntry entry = new ZipEntry(e.getKey());
        entry.setTime(1_700_000_000_000L);
        zip.putNextEntry(entry);
        zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private DiffResult roundTrip(byte[] oldJar, byte[] newJar, Path delta) throws IOException {
    Path old = Files.write(tmp.resolve("old.jar"), oldJar);
    Path neu = Files.write(tmp.resolve("new.jar"), newJar);
    DiffResult r = DeltaBuilder.diff(DiffRequest.of(old, neu, delta).withScratch(tmp));
    Path out = tmp.resolve("out-" + delta.getFileName());
    DeltaApplier.apply(ApplyRequest.of(old, delta, out));
    assertThat(Files.readAllBytes(out)).isEqualTo(newJar);
    return r;
  }

  private static Contribution entry(DiffResult r, String name) {
    return r.contributions().stream().filter(c -> c.path().equals("new.jar!/" + name)).findFirst()
        .orElseThrow(() -> new AssertionError("no contribution for " + name + " in " + r.contributions()));
  }

  @Test
  void bundledAssetsRenamedByContentHashArePairedWithTheirPredecessorsInsideTheJar() throws IOException {
    // old name -> new name, as Vite/Rollup (base64url with - and _, letters only), webpack
    // ([id].[contenthash], name.[contenthash]) emit them; each chunk changes a little.
    String[][] renames = {
        {"assets/main-Bla4FTkx.js", "assets/main-C047jAp3.js"},
        {"assets/CodeEditor-BNl7glDS.js", "assets/CodeEditor--AHMF_Ho.js"},
        {"assets/FlowDetails-CkI1qIU-.js.map", "assets/FlowDetails-BgI_knZ1.js.map"},
        {"assets/ScopeForm-DRR8_ehX.js", "assets/ScopeForm-Clmbznvz.js"},
        {"assets/index-D_Z22csw.js", "assets/index-Ba8dNZFd.js"},
        {"web/170.33fc56c43d5cf35d.js", "web/5444.5b7ad1c378166f3f.js"},
        {"web/main.ce8fab773e7158c7.js", "web/main.4dc73e6f8ff86322.js"},
        {"static/js/vendor-0a1b2c3d.chunk.js", "static/js/vendor-9f8e7d6c.chunk.js"}};
    Map<String, String> oldEntries = new LinkedHashMap<>();
    Map<String, String> newEntries = new LinkedHashMap<>();
    oldEntries.put("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n");
    newEntries.put("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n");
    for (int i = 0; i < renames.length; i++) {
      String body = chunk(100 + i, 400);
      oldEntries.put(renames[i][0], body + "import\"./dep-" + renames[(i + 1) % renames.length][0] + "\";\n");
      newEntries.put(renames[i][1], body.replace("const v7=", "const v7b=")
          + "import\"./dep-" + renames[(i + 1) % renames.length][1] + "\";\n");
    }
    // Negative cases. A chunk whose name has a predecessor's shape but whose content is unrelated
    // (Vite names many chunks index-<hash>.js), and two CamelCase stems that only share capitals.
    oldEntries.put("assets/index-Ab3dEf9h.js", chunk(1, 400));
    newEntries.put("assets/index-Zz9_kLmN.js", chunk(2, 400));
    oldEntries.put("assets/AddIdentityProvider-87-u-WcW.js", chunk(3, 300));
    newEntries.put("assets/AddOpenIdConnect-CG9y0kB7.js", chunk(4, 300));
    byte[] oldJar = jar(oldEntries);
    byte[] newJar = jar(newEntries);

    DiffResult r = roundTrip(oldJar, newJar, tmp.resolve("assets.delta"));

    assertThat(r.rebuilt()).isEqualTo(1);
    for (String[] rename : renames) {
      Contribution c = entry(r, rename[1]);
      assertThat(c.source()).as(rename[1]).isEqualTo("old.jar!/" + rename[0]);
      assertThat(c.pairedBy()).as(rename[1]).isEqualTo("hash");
    }
    assertThat(entry(r, "assets/index-Zz9_kLmN.js").source()).isNull();
    assertThat(entry(r, "assets/AddOpenIdConnect-CG9y0kB7.js").source()).isNull();
    // Paired, the renamed chunks cost a few hundred bytes; the two new ones are shipped whole.
    long newOnes = com.github.luben.zstd.Zstd.compress(
        (chunk(2, 400) + chunk(4, 300)).getBytes(StandardCharsets.UTF_8), 19).length;
    assertThat(r.deltaSize()).isLessThan(newOnes + 6_000);
    assertThat(DeltaApplier.readHeader(tmp.resolve("assets.delta")).version()).isEqualTo(1);
  }

  @Test
  void aJarWhoseChangedContentExceedsTheGroupStreamIsRebuiltEntryByEntry() throws IOException {
    // Two 17 MiB entries (34 MiB changed content, past the 32 MiB stream) and one of 33 MiB, past
    // the largest entry the builder diffs.
    byte[] a = random(11, 17 << 20);
    byte[] b = random(12, 17 << 20);
    byte[] huge = random(13, (DeltaFormat.MAX_DIFFED_ENTRY) + (1 << 20));
    byte[] oldJar = storedJar(a, b, huge, "v1");
    a[1234] ^= 1;
    b[5_000_000] ^= 1;
    huge[7] ^= 1;
    byte[] newJar = storedJar(a, b, huge, "v2");
    Path delta = tmp.resolve("big.delta");

    DiffResult r = roundTrip(oldJar, newJar, delta);

    assertThat(r.rebuilt()).as("rebuilt entry by entry, not patched as a file").isEqualTo(1);
    assertThat(entry(r, "data/a.bin").encoding()).isEqualTo("stream");
    assertThat(entry(r, "data/b.bin").encoding()).isEqualTo("own");
    assertThat(entry(r, "data/b.bin").bytes()).isLessThan(4_000);
    assertThat(entry(r, "data/huge.bin").encoding()).isEqualTo("compressed");
    assertThat(r.fallbacks()).containsExactly(Map.entry("zip entry shipped compressed: larger than 32 MiB uncompressed", 1));
    // The two diffed entries cost next to nothing; the huge one ships as it is.
    assertThat(r.deltaSize()).isLessThan(huge.length + 20_000L);
    assertThat(DeltaApplier.readHeader(delta).version()).isEqualTo(DeltaFormat.VERSION_OWN_UNITS);

    // Read as version 1, where own units do not exist, the delta is refused before anything is written.
    byte[] bytes = Files.readAllBytes(delta);
    bytes[9] = 1;
    Path asV1 = Files.write(tmp.resolve("v1.delta"), bytes);
    assertThatThrownBy(() -> DeltaApplier.apply(ApplyRequest.of(tmp.resolve("old.jar"), asV1, tmp.resolve("o1"))))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
          assertThat(e.getMessage()).contains("format version 1");
        });
    bytes[9] = 4;
    Path asV4 = Files.write(tmp.resolve("v4.delta"), bytes);
    assertThatThrownBy(() -> DeltaApplier.apply(ApplyRequest.of(tmp.resolve("old.jar"), asV4, tmp.resolve("o4"))))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
          assertThat(e.getMessage()).contains("format version 4").contains("versions 1 to 3");
        });
    assertThat(tmp.resolve("o1")).doesNotExist();
    assertThat(tmp.resolve("o4")).doesNotExist();
  }

  private static byte[] storedJar(byte[] a, byte[] b, byte[] huge, String version) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
      zip.write(("Implementation-Version: " + version + "\n").getBytes(StandardCharsets.UTF_8));
      zip.closeEntry();
      for (Object[] e : new Object[][] {{"data/a.bin", a}, {"data/b.bin", b}, {"data/huge.bin", huge}}) {
        byte[] content = (byte[]) e[1];
        zip.putNextEntry(stored((String) e[0], content));
        zip.write(content);
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  @Test
  void anEntryThatDoesNotReDeflateShipsItsCompressedBytesAloneAndIsCounted() throws IOException {
    String text = chunk(7, 2000);
    byte[] oldJar = new RawZip()
        .entry("a.txt", (text + "one").getBytes(StandardCharsets.UTF_8), RawZip.level(6), new byte[0], "", 0, 0x5a000000)
        .entry("odd.bin", (text + "one").getBytes(StandardCharsets.UTF_8), RawZip.huffmanOnly(), new byte[0], "", 0,
            0x5a000000)
        .bytes();
    byte[] newJar = new RawZip()
        .entry("a.txt", (text + "two").getBytes(StandardCharsets.UTF_8), RawZip.level(6), new byte[0], "", 0, 0x5a000000)
        .entry("odd.bin", (text + "two").getBytes(StandardCharsets.UTF_8), RawZip.huffmanOnly(), new byte[0], "", 0,
            0x5a000000)
        .bytes();

    DiffResult r = roundTrip(oldJar, newJar, tmp.resolve("odd.delta"));

    assertThat(r.rebuilt()).as("the jar is still rebuilt entry by entry").isEqualTo(1);
    assertThat(r.fallbacks())
        .containsExactly(Map.entry("zip entry shipped compressed: no JDK deflate level reproduces it", 1));
    assertThat(entry(r, "odd.bin").encoding()).isEqualTo("compressed");
    assertThat(entry(r, "a.txt").encoding()).isEqualTo("stream");
  }

  /** A fat jar (Spring Boot layout: nested jars stored) of the given nested jars. */
  private static byte[] fatJar(Map<String, byte[]> nested) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
      zip.write("Main-Class: Launcher\n".getBytes(StandardCharsets.UTF_8));
      zip.closeEntry();
      for (Map.Entry<String, byte[]> e : nested.entrySet()) {
        zip.putNextEntry(stored(e.getKey(), e.getValue()));
        zip.write(e.getValue());
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  @Test
  void aDependencyMergedIntoAnotherNestedJarIsDiffedAgainstTheOldJarItCameFrom() throws IOException {
    // Zipkin 3.4.3 -> 3.4.4: the shaded protobuf classes of prometheus-metrics-shaded-protobuf-1.2.1.jar
    // (package ..._3_25_3) live inside prometheus-metrics-exposition-formats-1.3.4.jar (..._4_28_3).
    Map<String, String> oldFormats = new LinkedHashMap<>();
    Map<String, String> oldShaded = new LinkedHashMap<>();
    Map<String, String> newFormats = new LinkedHashMap<>();
    oldFormats.put("formats/Writer.class", chunk(30, 200));
    newFormats.put("formats/Writer.class", chunk(30, 200).replace("const v5=", "const v5b="));
    for (int i = 0; i < 6; i++) {
      String body = chunk(40 + i, 300);
      oldShaded.put("shaded/protobuf_3_25_3/Message" + i + ".class", body);
      newFormats.put("shaded/protobuf_4_28_3/Message" + i + ".class", body.replace("const v9=", "const v9b="));
    }
    // A new class that is nowhere in the old release, under a name no old nested jar has.
    newFormats.put("shaded/protobuf_4_28_3/FeatureSupport.class", chunk(50, 300));
    Map<String, byte[]> oldNested = new LinkedHashMap<>();
    oldNested.put("BOOT-INF/lib/formats-1.2.1.jar", jar(oldFormats));
    oldNested.put("BOOT-INF/lib/shaded-protobuf-1.2.1.jar", jar(oldShaded));
    oldNested.put("BOOT-INF/lib/other-1.0.jar", jar(Map.of("other/A.class", chunk(60, 100))));
    Map<String, byte[]> newNested = new LinkedHashMap<>();
    newNested.put("BOOT-INF/lib/formats-1.3.4.jar", jar(newFormats));
    newNested.put("BOOT-INF/lib/other-1.0.jar", jar(Map.of("other/A.class", chunk(60, 100))));
    Path delta = tmp.resolve("fat.delta");

    DiffResult r = roundTrip(fatJar(oldNested), fatJar(newNested), delta);

    for (int i = 0; i < 6; i++) {
      Contribution c = entry(r, "BOOT-INF/lib/formats-1.3.4.jar!/shaded/protobuf_4_28_3/Message" + i + ".class");
      assertThat(c.source()).isEqualTo("old.jar!/BOOT-INF/lib/shaded-protobuf-1.2.1.jar!/shaded/protobuf_3_25_3/Message"
          + i + ".class");
      assertThat(c.pairedBy()).isEqualTo("version");
    }
    // Entries paired inside the nested jar are named by the old nested jar's name, not the new one's.
    assertThat(entry(r, "BOOT-INF/lib/formats-1.3.4.jar!/formats/Writer.class").source())
        .isEqualTo("old.jar!/BOOT-INF/lib/formats-1.2.1.jar!/formats/Writer.class");
    assertThat(entry(r, "BOOT-INF/lib/formats-1.3.4.jar!/shaded/protobuf_4_28_3/FeatureSupport.class").source())
        .isNull();
    // The moved classes cost next to nothing: the delta is about the new class alone.
    long newOne = com.github.luben.zstd.Zstd.compress(chunk(50, 300).getBytes(StandardCharsets.UTF_8), 19).length;
    assertThat(r.deltaSize()).isLessThan(newOne + 3_000);
    assertThat(DeltaApplier.readHeader(delta).version()).isEqualTo(DeltaFormat.VERSION_INNER_REFS);

    // Read as version 2, where references into nested zips do not exist, the delta is refused.
    byte[] bytes = Files.readAllBytes(delta);
    bytes[9] = 2;
    Path asV2 = Files.write(tmp.resolve("v2.delta"), bytes);
    assertThatThrownBy(() -> DeltaApplier.apply(ApplyRequest.of(tmp.resolve("old.jar"), asV2, tmp.resolve("o2"))))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.PATCH_MALFORMED);
          assertThat(e.getMessage()).contains("reference flag 2 in a delta of format version 2");
        });
    assertThat(tmp.resolve("o2")).doesNotExist();
  }

  @Test
  void inATreeContentChoosesAmongHashedNamesAndAloneDecidesForLetterOnlyHashes() throws IOException {
    Path old = tmp.resolve("old");
    Path neu = tmp.resolve("new");
    String scope = chunk(20, 300);
    String index = chunk(21, 300);
    TestTrees.file(old, "ui/assets/ScopeForm-DRR8_ehX.js", scope);
    TestTrees.file(neu, "ui/assets/ScopeForm-Clmbznvz.js", scope.replace("const v9=", "const v9b="));
    TestTrees.file(old, "ui/assets/index-Ab3dEf9h.js", index);
    TestTrees.file(neu, "ui/assets/index-Bc4eFg0i.js", index.replace("const v3=", "const v3b="));
    TestTrees.file(old, "ui/assets/index-Cd5fGh1j.js", chunk(22, 300));
    // A letter-only part may be a word: unrelated content, no pair.
    TestTrees.file(old, "ui/assets/Chart-Kqwertyu.js", chunk(24, 300));
    TestTrees.file(neu, "ui/assets/Chart-Mnbvcxzl.js", chunk(25, 300));
    Path delta = tmp.resolve("tree.delta");

    DiffResult r = DeltaBuilder.diff(DiffRequest.of(old, neu, delta).withScratch(tmp));
    DeltaApplier.apply(ApplyRequest.of(old, delta, tmp.resolve("out")));
    TestTrees.assertSameTree(tmp.resolve("out"), neu);

    Map<String, String> sources = new LinkedHashMap<>();
    r.contributions().forEach(c -> sources.put(c.path(), String.valueOf(c.source())));
    assertThat(sources).containsEntry("ui/assets/ScopeForm-Clmbznvz.js", "ui/assets/ScopeForm-DRR8_ehX.js")
        .containsEntry("ui/assets/index-Bc4eFg0i.js", "ui/assets/index-Ab3dEf9h.js")
        .containsEntry("ui/assets/Chart-Mnbvcxzl.js", "null");
  }
}
