package io.upgradekit.schema.delta.codec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The changed files of a real release pair, as the tree engine will hand them to the codec:
 * archives unpacked, jars inside them unpacked too, files paired by path with version numbers
 * ignored ({@code lib/maven-core-3.9.8.jar!/a.class} pairs with {@code lib/maven-core-3.9.9.jar!/a.class}).
 *
 * <p>The corpus is downloaded by {@code ../shared/corpus/fetch.sh} into {@code $UPGRADE_CORPUS}
 * or {@code ~/.cache/upgradekit-corpus}; {@link #corpusDir(String)} runs it when a pair is missing.
 */
final class CorpusPairs {
  private static final Pattern VERSION = Pattern.compile("\\d+(\\.\\d+)+");

  record Pair(String name, byte[] oldBytes, byte[] newBytes) {}

  private CorpusPairs() {}

  /** The directory of one corpus pair, fetched first if it is not there. */
  static Path corpusDir(String pair) throws IOException, InterruptedException {
    String env = System.getenv("UPGRADE_CORPUS");
    Path cache = env != null && !env.isEmpty()
        ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "upgradekit-corpus");
    Path dir = cache.resolve(pair);
    if (!hasSide(dir, "old") || !hasSide(dir, "new")) {
      Path script = fetchScript();
      Process fetch = new ProcessBuilder("bash", script.toString(), pair).inheritIO().start();
      if (!fetch.waitFor(15, TimeUnit.MINUTES) || fetch.exitValue() != 0) {
        throw new IOException("fetching corpus pair " + pair + " with " + script + " failed");
      }
    }
    if (!hasSide(dir, "old") || !hasSide(dir, "new")) {
      throw new IOException("corpus pair " + pair + " missing in " + dir + " after fetching");
    }
    return dir;
  }

  private static Path fetchScript() throws IOException {
    // The shared directory sits next to the repository (or worktree) root.
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path script = dir.resolve("shared/corpus/fetch.sh");
      if (Files.isRegularFile(script)) {
        return script;
      }
    }
    throw new IOException("shared/corpus/fetch.sh not found above " + Path.of("").toAbsolutePath());
  }

  private static boolean hasSide(Path dir, String side) throws IOException {
    return side(dir, side) != null;
  }

  static Path side(Path dir, String side) throws IOException {
    if (!Files.isDirectory(dir)) {
      return null;
    }
    try (var files = Files.list(dir)) {
      return files
          .filter(f -> f.getFileName().toString().startsWith(side + ".")
              && !f.getFileName().toString().endsWith(".coords")
              && sizeOf(f) > 0)
          .findFirst()
          .orElse(null);
    }
  }

  private static long sizeOf(Path f) {
    try {
      return Files.size(f);
    } catch (IOException e) {
      return 0;
    }
  }

  /** Changed files of a pair, in old-tree order. */
  static List<Pair> changedFiles(Path dir) throws IOException {
    Map<String, byte[]> oldTree = tree(side(dir, "old"));
    Map<String, byte[]> newTree = tree(side(dir, "new"));
    Map<String, Map.Entry<String, byte[]>> newByKey = new LinkedHashMap<>();
    for (Map.Entry<String, byte[]> e : newTree.entrySet()) {
      newByKey.putIfAbsent(key(e.getKey()), e);
    }
    List<Pair> pairs = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : oldTree.entrySet()) {
      Map.Entry<String, byte[]> match = newByKey.get(key(e.getKey()));
      if (match != null && !Arrays.equals(e.getValue(), match.getValue())) {
        pairs.add(new Pair(match.getKey(), e.getValue(), match.getValue()));
      }
    }
    return pairs;
  }

  private static String key(String path) {
    return VERSION.matcher(path).replaceAll("#");
  }

  /** Files of an archive (or of a single jar), jars among them replaced by their entries. */
  static Map<String, byte[]> tree(Path archive) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    String name = archive.getFileName().toString();
    byte[] bytes = Files.readAllBytes(archive);
    if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) {
      try (TarArchiveInputStream tar =
          new TarArchiveInputStream(new GZIPInputStream(new ByteArrayInputStream(bytes)))) {
        for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
          if (entry.isFile()) {
            add(files, stripTop(entry.getName()), tar.readAllBytes());
          }
        }
      }
    } else {
      add(files, "", bytes);
    }
    return files;
  }

  private static String stripTop(String path) {
    int slash = path.indexOf('/');
    return slash < 0 ? path : path.substring(slash + 1);
  }

  private static void add(Map<String, byte[]> files, String path, byte[] bytes) throws IOException {
    if (isZip(path, bytes)) {
      try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
        for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
          if (!entry.isDirectory()) {
            files.put(path + "!/" + entry.getName(), readAll(zip));
          }
        }
      }
    } else {
      files.put(path, bytes);
    }
  }

  private static boolean isZip(String path, byte[] bytes) {
    return (path.isEmpty() || path.endsWith(".jar") || path.endsWith(".zip") || path.endsWith(".war"))
        && bytes.length > 4 && bytes[0] == 'P' && bytes[1] == 'K';
  }

  private static byte[] readAll(InputStream in) throws IOException {
    return in.readAllBytes();
  }
}
