import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The reference a delta is judged against (issue 13): C {@code bsdiff} over the changed files of
 * the two payloads, each unpacked recursively. Run by {@code bench/delta.sh} in the same run as our
 * delta, or by hand:
 *
 * <pre>
 *   java bench/DeltaReference.java [--top N] [--jobs J] [--exact-names] OLD NEW
 *   java bench/DeltaReference.java --extract PATH PAYLOAD OUT   (copy one nested file out)
 * </pre>
 *
 * <p>OLD and NEW are directories, .zip/.jar/.war/.ear files or .tar/.tar.gz/.tgz files. Archives
 * inside them (and inside those, to any depth) are unpacked too; a leaf is a file that is not an
 * archive, named like {@code lib/foo-1.2.3.jar!/x/Y.class}. A leaf of NEW costs:
 *
 * <ul>
 *   <li>nothing if OLD has a leaf with the same content anywhere (unchanged, moved or renamed);
 *   <li>otherwise the smallest C {@code bsdiff} patch against its predecessor: the OLD leaf at the
 *       same path, else the OLD leaves whose path is the same once version numbers and hash-like
 *       name parts are blanked ({@link #key}), else the same with any 8-character part before
 *       the extension blanked ({@link #looseKey}), else those whose file name alone matches
 *       ({@link #fileKey}); of several candidates the {@value #CANDIDATES} closest in size are
 *       tried, and the smallest patch counts;
 *   <li>its {@code zstd -19} size if it has no predecessor (a new file).
 * </ul>
 *
 * <p>Deleted leaves, directories, permissions, archive metadata (tar headers, zip central
 * directories) and the deflate streams of rebuilt archives cost nothing here: the reference is
 * only what it takes to turn the old file contents into the new ones.
 *
 * <p>Output: the first line is {@code reference TOTAL BSDIFF_BYTES CHANGED NEW_BYTES NEW GROUPED}
 * (tab separated, machine-readable), then a sentence, then with {@code --top N} the N biggest
 * contributors and the archives (or directories) that hold most of the reference. GROUPED is a
 * second, tighter figure: one bsdiff over all changed files concatenated (see {@link #grouped}).
 */
public final class DeltaReference {
  /**
   * With {@code --exact-names}: a leaf is paired only with the old leaf at the same path, so every
   * renamed file counts as new. The difference to the reference is what pairing renamed files is
   * worth, and a delta close to this figure is one that did not pair them.
   */
  static boolean exactNames;

  /** Candidates tried with bsdiff when several old leaves share a new leaf's key. */
  static final int CANDIDATES = 3;
  static final Set<String> ZIP_TYPES = Set.of(".zip", ".jar", ".war", ".ear");
  static final Set<String> TAR_TYPES = Set.of(".tar", ".tar.gz", ".tgz");

  /** One file of a payload after recursive unpacking. */
  record Leaf(String path, long size, String sha256) {}

  /** What one new leaf costs, and against what. */
  record Cost(Leaf leaf, Leaf base, long bytes, String how) {}

  public static void main(String[] args) throws Exception {
    int top = 0;
    int jobs = 2;
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--top" -> top = Integer.parseInt(args[++i]);
        case "--jobs" -> jobs = Integer.parseInt(args[++i]);
        case "--exact-names" -> exactNames = true;
        case "--extract" -> {
          extract(args[i + 1], Path.of(args[i + 2]), Path.of(args[i + 3]));
          return;
        }
        default -> rest.add(args[i]);
      }
    }
    if (rest.size() != 2) {
      System.err.println("usage: java bench/DeltaReference.java [--top N] [--jobs J] [--exact-names] OLD NEW\n"
          + "       java bench/DeltaReference.java --extract PATH PAYLOAD OUT");
      System.exit(2);
    }
    for (String tool : List.of("bsdiff", "zstd")) {
      if (!onPath(tool)) {
        System.err.println(tool + " is required: apt-get install -y " + tool);
        System.exit(2);
      }
    }
    Path work = Files.createTempDirectory("delta-reference");
    try {
      new DeltaReference(work, jobs).run(Path.of(rest.get(0)), Path.of(rest.get(1)), top);
    } finally {
      deleteTree(work);
    }
  }

  private final Path work;
  private final Path store;
  private final int jobs;

  DeltaReference(Path work, int jobs) throws IOException {
    this.work = work;
    this.store = Files.createDirectories(work.resolve("content"));
    this.jobs = jobs;
  }

  void run(Path oldPayload, Path newPayload, int top) throws Exception {
    long started = System.nanoTime();
    // Pass 1: every leaf's SHA-256. New content (not anywhere in OLD) is kept in the store for
    // bsdiff and zstd as it goes by, so NEW is read once.
    Map<String, Leaf> olds = new LinkedHashMap<>();
    walk(oldPayload, (path, in) -> olds.put(path, hashed(path, in, null)), p -> true);
    Set<String> oldContent = new HashSet<>();
    olds.values().forEach(l -> oldContent.add(l.sha256()));
    Map<String, Leaf> news = new LinkedHashMap<>();
    walk(newPayload, (path, in) -> news.put(path, hashed(path, in, oldContent)), p -> true);

    // Pairing: each changed or new leaf of NEW against its candidate predecessors in OLD.
    Map<String, List<Leaf>> oldByKey = new HashMap<>();
    Map<String, List<Leaf>> oldByFileKey = new HashMap<>();
    Map<String, List<Leaf>> oldByLooseKey = new HashMap<>();
    for (Leaf l : olds.values()) {
      oldByLooseKey.computeIfAbsent(looseKey(l.path()), k -> new ArrayList<>()).add(l);
      oldByKey.computeIfAbsent(key(l.path()), k -> new ArrayList<>()).add(l);
      oldByFileKey.computeIfAbsent(fileKey(l.path()), k -> new ArrayList<>()).add(l);
    }
    Map<Leaf, List<Leaf>> todo = new LinkedHashMap<>();
    int unchanged = 0;
    for (Leaf n : news.values()) {
      if (oldContent.contains(n.sha256())) {
        unchanged++;
        continue;
      }
      Leaf same = olds.get(n.path());
      List<Leaf> candidates = same != null ? List.of(same)
          : closest(oldByKey.getOrDefault(key(n.path()), List.of()), n.size());
      if (exactNames) {
        candidates = same != null ? List.of(same) : List.of();
      } else if (candidates.isEmpty()) {
        candidates = closest(oldByLooseKey.getOrDefault(looseKey(n.path()), List.of()), n.size());
        // A file that moved and changed, by its name alone: only a name that still says
        // something once blanked (not "*.js", "#.*.js"), so that unrelated files never meet.
        String fileKey = fileKey(n.path());
        if (candidates.isEmpty() && !fileKey.contains("*")) {
          candidates = closest(oldByFileKey.getOrDefault(fileKey, List.of()), n.size());
        }
      }
      todo.put(n, candidates);
    }

    // Pass 2: copy the OLD leaves that are candidates into the store, skipping the archives that
    // hold none of them.
    Set<String> wanted = new HashSet<>();
    todo.values().forEach(list -> list.forEach(l -> wanted.add(l.path())));
    Set<String> wantedArchives = new HashSet<>();
    for (String p : wanted) {
      for (int i = p.indexOf("!/"); i >= 0; i = p.indexOf("!/", i + 2)) {
        wantedArchives.add(p.substring(0, i));
      }
    }
    walk(oldPayload, (path, in) -> {
      if (wanted.contains(path)) {
        hashed(path, in, Set.of());
      }
    }, wantedArchives::contains);

    // bsdiff every candidate pair (JOBS at a time), zstd -19 every new file.
    ExecutorService pool = Executors.newFixedThreadPool(jobs);
    List<Future<Cost>> futures = new ArrayList<>();
    for (Map.Entry<Leaf, List<Leaf>> e : todo.entrySet()) {
      futures.add(pool.submit(() -> cost(e.getKey(), e.getValue())));
    }
    List<Cost> costs = new ArrayList<>();
    for (Future<Cost> f : futures) {
      costs.add(f.get());
    }
    pool.shutdown();
    pool.awaitTermination(1, TimeUnit.MINUTES);

    long bsdiffBytes = 0;
    long newBytes = 0;
    int changed = 0;
    int added = 0;
    for (Cost c : costs) {
      if (c.base() != null) {
        bsdiffBytes += c.bytes();
        changed++;
      } else {
        newBytes += c.bytes();
        added++;
      }
    }
    int removed = 0;
    Set<String> newContent = new HashSet<>();
    news.values().forEach(l -> newContent.add(l.sha256()));
    for (Leaf o : olds.values()) {
      if (!news.containsKey(o.path()) && !newContent.contains(o.sha256())) {
        removed++;
      }
    }
    long grouped = grouped(costs);
    System.out.printf("reference\t%d\t%d\t%d\t%d\t%d\t%d%n", bsdiffBytes + newBytes, bsdiffBytes, changed, newBytes,
        added, grouped + newBytes);
    System.out.printf(Locale.ROOT, "%,d bytes: %,d changed files by C bsdiff (%,d bytes) + %,d new files at zstd -19 "
            + "(%,d bytes); %,d leaves unchanged or moved, %,d of the old ones gone; %d + %d leaves; %.1f s%n",
        bsdiffBytes + newBytes, changed, bsdiffBytes, added, newBytes, unchanged, removed, olds.size(), news.size(),
        (System.nanoTime() - started) / 1e9);
    System.out.printf(Locale.ROOT, "grouped: %,d bytes, one C bsdiff over all changed files concatenated (%,d bytes, "
        + "no per-file overhead) + the same new files%n", grouped + newBytes, grouped);
    if (top > 0) {
      breakdown(costs, top);
    }
  }

  /**
   * One bsdiff of all changed files concatenated against their chosen predecessors concatenated in
   * the same order: what the per-file reference costs without bsdiff's fixed ~160 bytes per patch
   * (a header and three bzip2 streams), and with changes repeated across files found once.
   */
  long grouped(List<Cost> costs) throws IOException, InterruptedException {
    Path oldCat = work.resolve("grouped.old");
    Path newCat = work.resolve("grouped.new");
    Path patch = work.resolve("grouped.bsdiff");
    boolean any = false;
    try (OutputStream o = Files.newOutputStream(oldCat); OutputStream n = Files.newOutputStream(newCat)) {
      for (Cost c : costs) {
        if (c.base() != null) {
          Files.copy(store.resolve(c.base().sha256()), o);
          Files.copy(store.resolve(c.leaf().sha256()), n);
          any = true;
        }
      }
    }
    if (!any) {
      return 0;
    }
    int rc = exec(List.of("bsdiff", oldCat.toString(), newCat.toString(), patch.toString()), null);
    if (rc != 0) {
      throw new IOException("bsdiff failed (exit " + rc + ") on the concatenated changed files");
    }
    return Files.size(patch);
  }

  /** The N biggest contributors, then the archives and directories that hold the reference. */
  static void breakdown(List<Cost> costs, int top) {
    List<Cost> sorted = new ArrayList<>(costs);
    sorted.sort(Comparator.comparingLong(Cost::bytes).reversed());
    System.out.println();
    System.out.println("| reference bytes | how | new leaf | new size | old leaf | old size |");
    System.out.println("|---:|---|---|---:|---|---:|");
    for (Cost c : sorted.subList(0, Math.min(top, sorted.size()))) {
      System.out.printf(Locale.ROOT, "| %,d | %s | %s | %,d | %s | %s |%n", c.bytes(), c.how(), c.leaf().path(),
          c.leaf().size(), c.base() == null ? "" : c.base().path(),
          c.base() == null ? "" : String.format(Locale.ROOT, "%,d", c.base().size()));
    }
    // By container: the archive that directly holds the leaf (or its directory in the tree).
    Map<String, long[]> byContainer = new TreeMap<>();
    Map<String, String> oldContainer = new HashMap<>();
    for (Cost c : costs) {
      String container = container(c.leaf().path());
      long[] sums = byContainer.computeIfAbsent(container, k -> new long[3]);
      sums[0] += c.bytes();
      sums[c.base() == null ? 2 : 1]++;
      if (c.base() != null) {
        oldContainer.putIfAbsent(container, container(c.base().path()));
      }
    }
    List<Map.Entry<String, long[]>> containers = new ArrayList<>(byContainer.entrySet());
    containers.sort(Comparator.comparingLong((Map.Entry<String, long[]> e) -> e.getValue()[0]).reversed());
    System.out.println();
    System.out.println("| reference bytes | changed | new | in (new) | paired with (old) |");
    System.out.println("|---:|---:|---:|---|---|");
    for (Map.Entry<String, long[]> e : containers.subList(0, Math.min(top, containers.size()))) {
      long[] s = e.getValue();
      System.out.printf(Locale.ROOT, "| %,d | %d | %d | %s | %s |%n", s[0], s[1], s[2], e.getKey(),
          oldContainer.getOrDefault(e.getKey(), ""));
    }
  }

  static String container(String path) {
    int bang = path.lastIndexOf("!/");
    if (bang >= 0) {
      return path.substring(0, bang);
    }
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "." : path.substring(0, slash) + "/";
  }

  /** The cheapest way from the candidates to the new leaf; zstd -19 alone if there are none. */
  Cost cost(Leaf n, List<Leaf> candidates) throws IOException, InterruptedException {
    Path newFile = store.resolve(n.sha256());
    Cost best = null;
    for (Leaf o : candidates) {
      if (o.size() == 0) {
        continue; // bsdiff cannot index an empty file; an empty predecessor is no predecessor
      }
      Path patch = Files.createTempFile(work, "patch", ".bsdiff");
      try {
        int rc = exec(List.of("bsdiff", store.resolve(o.sha256()).toString(), newFile.toString(), patch.toString()),
            null);
        if (rc != 0) {
          throw new IOException("bsdiff failed (exit " + rc + ") on " + o.path() + " -> " + n.path());
        }
        long bytes = Files.size(patch);
        if (best == null || bytes < best.bytes()) {
          best = new Cost(n, o, bytes, "bsdiff");
        }
      } finally {
        Files.deleteIfExists(patch);
      }
    }
    if (best != null) {
      return best;
    }
    long[] counted = new long[1];
    int rc = exec(List.of("zstd", "-19", "-q", "-c", newFile.toString()), counted);
    if (rc != 0) {
      throw new IOException("zstd failed (exit " + rc + ") on " + n.path());
    }
    return new Cost(n, null, counted[0], "new, zstd -19");
  }

  /** Runs a command; with {@code counted}, counts its standard output instead of keeping it. */
  static int exec(List<String> command, long[] counted) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    if (counted == null) {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    }
    Process p = pb.start();
    if (counted != null) {
      try (InputStream out = p.getInputStream()) {
        byte[] buf = new byte[1 << 16];
        for (int r; (r = out.read(buf)) > 0; ) {
          counted[0] += r;
        }
      }
    }
    return p.waitFor();
  }

  static List<Leaf> closest(List<Leaf> candidates, long size) {
    if (candidates.size() <= CANDIDATES) {
      return candidates;
    }
    List<Leaf> sorted = new ArrayList<>(candidates);
    sorted.sort(Comparator.comparingLong(l -> Math.abs(l.size() - size)));
    return sorted.subList(0, CANDIDATES);
  }

  /**
   * Hashes a leaf; if {@code keepUnless} is given and does not hold the leaf's hash, keeps its
   * bytes in the store under that hash (once per content).
   */
  Leaf hashed(String path, InputStream in, Set<String> keepUnless) throws IOException {
    MessageDigest sha = sha256();
    Path tmp = keepUnless == null ? null : Files.createTempFile(work, "leaf", null);
    long size = 0;
    try (DigestInputStream din = new DigestInputStream(in, sha);
         OutputStream out = tmp == null ? OutputStream.nullOutputStream() : Files.newOutputStream(tmp)) {
      byte[] buf = new byte[1 << 16];
      for (int r; (r = din.read(buf)) > 0; ) {
        out.write(buf, 0, r);
        size += r;
      }
    }
    String hex = HexFormat.of().formatHex(sha.digest());
    if (tmp != null) {
      Path target = store.resolve(hex);
      if (!keepUnless.contains(hex) && !Files.exists(target)) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.delete(tmp);
      }
    }
    return new Leaf(path, size, hex);
  }

  // ---------------------------------------------------------------------------------------------
  // Names: version numbers and content hashes blanked, so renamed files meet their predecessors.

  /** A dotted number that starts a name part: {@code 1.2.3}, {@code 26.5.5}, webpack chunk ids. */
  static final Pattern VERSION = Pattern.compile("(?<![A-Za-z0-9])\\d+(?:\\.\\d+)*");
  /**
   * A name part between a separator ({@code -}, {@code .}, {@code _}) and a dot, made of the
   * characters bundlers use for hashes: hex for webpack's {@code [contenthash]}, base64url (with
   * {@code -} and {@code _}) for Vite, Rollup and esbuild.
   */
  static final Pattern HASH_PART = Pattern.compile("(?<=[-._])[A-Za-z0-9_-]{8,64}(?=\\.)");
  /** Alphanumeric runs anywhere in a name (the engine's own test, for hashes in other places). */
  static final Pattern ALNUM = Pattern.compile("[A-Za-z0-9]+");

  /** The path with versions replaced by {@code #} and hash-like name parts by {@code *}. */
  static String key(String path) {
    StringBuilder out = new StringBuilder(path.length());
    for (String segment : path.split("/", -1)) {
      if (out.length() > 0) {
        out.append('/');
      }
      out.append(segmentKey(segment));
    }
    return VERSION.matcher(out).replaceAll("#");
  }

  /**
   * Vite and Rollup hashes are 8 base64url characters, and some are letters only with one or two
   * capitals ({@code ScopeForm-DRR8_ehX.js} -> {@code ScopeForm-Clmbznvz.js},
   * {@code CreateInitialAccessToken-hwukiPff.js}): no test of the part alone tells them from a
   * word. When the strict key finds no predecessor, any 8-character part between {@code -} or
   * {@code .} and the file's extension is blanked too.
   */
  static final Pattern LOOSE_HASH = Pattern.compile("(?<=[-.])[A-Za-z0-9_-]{8}(?=\\.[^/]*$)");

  static String looseKey(String path) {
    int slash = path.lastIndexOf('/');
    String name = path.substring(slash + 1);
    return key(path.substring(0, slash + 1) + LOOSE_HASH.matcher(name).replaceAll("*"));
  }

  /** The key of the file name alone, for files that moved and changed. */
  static String fileKey(String path) {
    return key(path.substring(path.lastIndexOf('/') + 1));
  }

  static String segmentKey(String segment) {
    // Bundler hashes first: the part before an extension, whatever its separator characters.
    Matcher h = HASH_PART.matcher(segment);
    StringBuilder s = new StringBuilder();
    while (h.find()) {
      h.appendReplacement(s, isBundlerHash(h.group()) ? "*" : Matcher.quoteReplacement(h.group()));
    }
    h.appendTail(s);
    // Then any other alphanumeric run that looks like a hash.
    Matcher m = ALNUM.matcher(s);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, isHashLike(m.group()) ? "*" : Matcher.quoteReplacement(m.group()));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * A bundler hash: hex with a digit and a letter (webpack), or base64url with a digit, a
   * {@code -}/{@code _}, or mixed case with two capitals (Vite's {@code C047jAp3},
   * {@code -AHMF_Ho}, {@code CMOWIiUC}). Lowercase words ({@code messages}, {@code bootstrap}),
   * words joined by one separator ({@code vendor-react}) and CamelCase with one capital are not.
   */
  static boolean isBundlerHash(String part) {
    int digits = 0;
    int upper = 0;
    int lower = 0;
    int marks = 0;
    boolean hex = true;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c >= '0' && c <= '9') {
        digits++;
      } else if (c >= 'A' && c <= 'Z') {
        upper++;
        hex = false;
      } else if (c >= 'a' && c <= 'z') {
        lower++;
        hex &= c <= 'f';
      } else {
        marks++;
        hex = false;
      }
    }
    if (hex) {
      return digits > 0 && lower > 0 || digits >= 8;
    }
    if (part.length() > 16) {
      return false; // base64url hashes of bundlers are 8 (Vite, Rollup) to 16 characters
    }
    boolean mixedCase = upper >= 2 && lower >= 1;
    return digits > 0 && upper + lower > 0 && (mixedCase || marks > 0 || upper > 0)
        || marks > 0 && mixedCase
        || marks == 0 && digits == 0 && mixedCase && upper >= 3;
  }

  /**
   * An alphanumeric run that is a hash wherever it stands: letters and digits mixed, long enough
   * that a word with a number is unlikely (6 characters with 2 digits, or 8 with one). Unlike the
   * engine's NameKeys.isHashLike, CamelCase words are not hashes here ({@code RequestTraceHelper},
   * {@code CodedOutputStream}): blanking them would give unrelated classes one key. Letter-only
   * hashes are found by their place instead ({@link #HASH_PART}, {@link #looseKey}).
   */
  static boolean isHashLike(String part) {
    int digits = 0;
    int upper = 0;
    int lower = 0;
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c >= '0' && c <= '9') {
        digits++;
      } else if (c >= 'A' && c <= 'Z') {
        upper++;
      } else {
        lower++;
      }
    }
    int letters = upper + lower;
    int n = part.length();
    return letters > 0 && ((n >= 6 && digits >= 2) || (n >= 8 && digits >= 1));
  }

  // ---------------------------------------------------------------------------------------------
  // Recursive unpacking.

  interface LeafVisitor {
    void leaf(String path, InputStream in) throws IOException;
  }

  interface Descend {
    boolean into(String archivePath);
  }

  /**
   * Visits every leaf of a payload. A nested archive is unpacked only if {@code descend} accepts
   * its path; one that does not open as an archive is a leaf.
   */
  void walk(Path payload, LeafVisitor visitor, Descend descend) throws IOException {
    if (Files.isDirectory(payload)) {
      List<Path> files;
      try (Stream<Path> s = Files.walk(payload)) {
        files = s.filter(Files::isRegularFile).sorted().toList();
      }
      for (Path f : files) {
        String rel = payload.relativize(f).toString().replace('\\', '/');
        file(rel, f, visitor, descend);
      }
    } else {
      // A payload that is an archive is its tree: leaves are named inside it, without its name.
      if (archiveType(payload.getFileName().toString()) != null) {
        unpack("", payload.getFileName().toString(), payload, visitor, descend);
      } else {
        file(payload.getFileName().toString(), payload, visitor, descend);
      }
    }
  }

  private void file(String path, Path file, LeafVisitor visitor, Descend descend)
      throws IOException {
    if (grab != null) {
      try (InputStream in = Files.newInputStream(file)) {
        if (grabbed(path, in)) {
          return;
        }
      }
    }
    if (archiveType(path) != null) {
      if (!descend.into(path)) {
        return;
      }
      if (unpack(path + "!/", path, file, visitor, descend)) {
        return;
      }
    }
    try (InputStream in = Files.newInputStream(file)) {
      visitor.leaf(path, in);
    }
  }

  /** Unpacks an archive file; false if it is not one after all (then the caller takes it as a leaf). */
  private boolean unpack(String prefix, String name, Path file, LeafVisitor visitor, Descend descend)
      throws IOException {
    String type = archiveType(name);
    if (ZIP_TYPES.contains(type)) {
      ZipFile zip;
      try {
        zip = new ZipFile(file.toFile());
      } catch (ZipException e) {
        return false;
      }
      try (zip) {
        List<? extends ZipEntry> entries = Collections.list(zip.entries());
        for (ZipEntry e : entries) {
          if (e.isDirectory()) {
            continue;
          }
          try (InputStream in = zip.getInputStream(e)) {
            entry(prefix + e.getName(), in, visitor, descend);
          }
        }
      }
      return true;
    }
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      InputStream in = type.equals(".tar") ? raw : new GZIPInputStream(raw, 1 << 16);
      readTar(prefix, in, visitor, descend);
    }
    return true;
  }

  private void entry(String path, InputStream in, LeafVisitor visitor, Descend descend) throws IOException {
    if (grab != null && grabbed(path, in)) {
      return;
    }
    if (archiveType(path) == null) {
      visitor.leaf(path, in);
      return;
    }
    if (!descend.into(path)) {
      return;
    }
    Path tmp = Files.createTempFile(work, "nested", archiveType(path));
    try {
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      file(path, tmp, visitor, descend);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** A minimal tar reader: ustar and GNU long names, pax path records; regular files only. */
  private void readTar(String prefix, InputStream in, LeafVisitor visitor, Descend descend) throws IOException {
    byte[] header = new byte[512];
    String longName = null;
    while (true) {
      if (!readFully(in, header)) {
        return;
      }
      if (allZero(header)) {
        return;
      }
      long size = octal(header, 124, 12);
      char type = (char) header[156];
      String name = longName != null ? longName : tarName(header);
      longName = null;
      long padded = (size + 511) & ~511L;
      if (type == 'L' || type == 'x') {
        byte[] data = in.readNBytes((int) size);
        skip(in, padded - size);
        String text = new String(data, StandardCharsets.UTF_8);
        if (type == 'L') {
          longName = text.replace("\0", "");
        } else {
          for (String record : text.split("\n")) {
            int sp = record.indexOf(' ');
            if (sp > 0 && record.startsWith("path=", sp + 1)) {
              longName = record.substring(sp + 6);
            }
          }
        }
        continue;
      }
      if (type == '0' || type == '\0' || type == '7') {
        InputStream body = new BoundedStream(in, size);
        String path = prefix + (name.startsWith("./") ? name.substring(2) : name);
        entry(path, body, visitor, descend);
        skip(body, Long.MAX_VALUE); // whatever the visitor left unread
        skip(in, padded - size);
      } else {
        skip(in, padded);
      }
    }
  }

  static String tarName(byte[] h) {
    String name = cString(h, 0, 100);
    if (new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
      String pre = cString(h, 345, 155);
      if (!pre.isEmpty()) {
        name = pre + "/" + name;
      }
    }
    return name;
  }

  static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  static long octal(byte[] b, int off, int len) {
    if ((b[off] & 0x80) != 0) { // GNU base-256 for sizes over 8 GiB
      long v = 0;
      for (int i = off + 1; i < off + len; i++) {
        v = (v << 8) | (b[i] & 0xff);
      }
      return v;
    }
    String s = cString(b, off, len).trim();
    return s.isEmpty() ? 0 : Long.parseLong(s, 8);
  }

  static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  static boolean readFully(InputStream in, byte[] b) throws IOException {
    int n = in.readNBytes(b, 0, b.length);
    if (n == 0) {
      return false;
    }
    if (n < b.length) {
      throw new EOFException("truncated tar header");
    }
    return true;
  }

  /** Skips up to n bytes (to the end of the stream if it is shorter). */
  static void skip(InputStream in, long n) throws IOException {
    byte[] buf = new byte[8192];
    while (n > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, n));
      if (r <= 0) {
        return;
      }
      n -= r;
    }
  }

  /** The first {@code size} bytes of a stream, without closing it. */
  static final class BoundedStream extends InputStream {
    private final InputStream in;
    private long left;

    BoundedStream(InputStream in, long size) {
      this.in = in;
      this.left = size;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int r = in.read(b, off, (int) Math.min(len, left));
      if (r < 0) {
        throw new EOFException("tar entry cut short");
      }
      left -= r;
      return r;
    }

    @Override
    public void close() {
      // the tar stream goes on
    }
  }

  static String archiveType(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    for (String t : List.of(".tar.gz", ".tgz", ".tar", ".zip", ".jar", ".war", ".ear")) {
      if (lower.endsWith(t)) {
        return t;
      }
    }
    return null;
  }

  /** {@code --extract}: copies one nested file (a jar inside a zip inside a tar...) out. */
  static void extract(String wanted, Path payload, Path out) throws Exception {
    Path work = Files.createTempDirectory("delta-reference");
    try {
      DeltaReference r = new DeltaReference(work, 1);
      r.grab = wanted;
      r.grabTo = out;
      // Descend only into the archives on the way to the wanted file.
      r.walk(payload, (path, in) -> { }, path -> wanted.startsWith(path + "!/"));
      if (!Files.exists(out)) {
        System.err.println(wanted + " is not in " + payload);
        System.exit(1);
      }
    } finally {
      deleteTree(work);
    }
  }

  /** With --extract: the path to copy to {@link #grabTo} when the walk passes it. */
  private String grab;
  private Path grabTo;

  private boolean grabbed(String path, InputStream in) throws IOException {
    if (!path.equals(grab)) {
      return false;
    }
    Files.copy(in, grabTo, StandardCopyOption.REPLACE_EXISTING);
    return true;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
