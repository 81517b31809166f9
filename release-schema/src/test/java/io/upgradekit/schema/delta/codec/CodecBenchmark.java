package io.upgradekit.schema.delta.codec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * Compares the codecs with C {@code bsdiff} and {@code zstd --patch-from} on the changed files of
 * corpus pairs. Not a test: run it by hand, tools on the PATH, e.g.
 *
 * <pre>
 *   ./mvnw -q -pl release-schema test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 *   java -Xmx2g -cp release-schema/target/test-classes:release-schema/target/classes:$(cat release-schema/target/cp.txt) \
 *       io.upgradekit.schema.delta.codec.CodecBenchmark [-v] guava-jar maven-tgz [file:OLD:NEW ...]
 * </pre>
 *
 * Times are CPU seconds of the encoding thread (ours) and user+system seconds of the process
 * (C tools), because the machine is shared and wall time is noisy.
 */
public final class CodecBenchmark {
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  private CodecBenchmark() {}

  public static void main(String[] args) throws Exception {
    boolean verbose = false;
    Path tmp = Files.createTempDirectory("codec-bench");
    System.out.printf("%-44s %5s %10s %10s %10s %10s %10s %10s | %8s %8s %8s %8s%n",
        "pair", "files", "new", "bsdiff-C", "ours-bs", "zstd-pf", "ours-pf", "ours-best",
        "t-bsC", "t-bs", "t-pfC", "t-pf");
    for (String arg : args) {
      if (arg.equals("-v")) {
        verbose = true;
        continue;
      }
      List<CorpusPairs.Pair> pairs = new ArrayList<>();
      String label = arg;
      if (arg.startsWith("file:")) {
        String[] parts = arg.split(":");
        pairs.add(new CorpusPairs.Pair(parts[2], Files.readAllBytes(Path.of(parts[1])),
            Files.readAllBytes(Path.of(parts[2]))));
        label = Path.of(parts[2]).getFileName().toString();
      } else {
        pairs.addAll(CorpusPairs.changedFiles(CorpusPairs.corpusDir(arg)));
      }
      Row total = new Row();
      for (CorpusPairs.Pair p : pairs) {
        Row row = measure(p, tmp);
        total.add(row);
        if (verbose) {
          row.print(p.name().length() > 44 ? "…" + p.name().substring(p.name().length() - 43) : p.name(), 1);
        }
      }
      total.print(label, pairs.size());
    }
  }

  private static final class Row {
    long newSize, bsdiffC, oursBs, zstdPf, oursPf, oursBest;
    double tBsC, tBs, tPfC, tPf;

    void add(Row r) {
      newSize += r.newSize;
      bsdiffC += r.bsdiffC;
      oursBs += r.oursBs;
      zstdPf += r.zstdPf;
      oursPf += r.oursPf;
      oursBest += r.oursBest;
      tBsC += r.tBsC;
      tBs += r.tBs;
      tPfC += r.tPfC;
      tPf += r.tPf;
    }

    void print(String label, int files) {
      System.out.printf("%-44s %5d %10d %10d %10d %10d %10d %10d | %8.2f %8.2f %8.2f %8.2f%n",
          label, files, newSize, bsdiffC, oursBs, zstdPf, oursPf, oursBest, tBsC, tBs, tPfC, tPf);
    }
  }

  private static Row measure(CorpusPairs.Pair p, Path tmp) throws Exception {
    Row row = new Row();
    row.newSize = p.newBytes().length;
    Path old = tmp.resolve("old");
    Path nu = tmp.resolve("new");
    Path out = tmp.resolve("patch");
    Files.write(old, p.oldBytes());
    Files.write(nu, p.newBytes());

    row.tBsC = tool(List.of("bsdiff", old.toString(), nu.toString(), out.toString()));
    row.bsdiffC = Files.size(out);
    row.tPfC = tool(List.of("zstd", "-q", "-f", "-19", "--long=31", "--patch-from=" + old, nu.toString(), "-o", out.toString()));
    row.zstdPf = Files.size(out);

    long c0 = CPU.getCurrentThreadCpuTime();
    byte[] bs = p.oldBytes().length > 0 ? Bsdiff.encode(p.oldBytes(), p.newBytes()) : null;
    long c1 = CPU.getCurrentThreadCpuTime();
    byte[] pf = p.oldBytes().length > 0 ? ZstdPatchFrom.encode(p.oldBytes(), p.newBytes()) : null;
    long c2 = CPU.getCurrentThreadCpuTime();
    EncodedPatch best = FileCodec.encode(p.oldBytes(), p.newBytes());
    row.tBs = (c1 - c0) / 1e9;
    row.tPf = (c2 - c1) / 1e9;
    row.oursBs = bs == null ? 0 : bs.length;
    row.oursPf = pf == null ? 0 : pf.length;
    row.oursBest = best.size();
    check(PatchMethod.BSDIFF_ZSTD, p, bs);
    check(PatchMethod.ZSTD_PATCH_FROM, p, pf);
    check(best.method(), p, best.bytes());
    return row;
  }

  private static void check(PatchMethod method, CorpusPairs.Pair p, byte[] patch) throws IOException {
    if (patch == null) {
      return;
    }
    var out = new java.io.ByteArrayOutputStream();
    FileCodec.decode(method, ByteBuffer.wrap(p.oldBytes()), new ByteArrayInputStream(patch), p.newBytes().length, out);
    if (!java.util.Arrays.equals(out.toByteArray(), p.newBytes())) {
      throw new AssertionError(method + " does not round-trip " + p.name());
    }
  }

  /** Runs a tool under /usr/bin/time and returns its user+system seconds. */
  private static double tool(List<String> command) throws IOException, InterruptedException {
    List<String> timed = new ArrayList<>(List.of("/usr/bin/time", "-f", "%U %S"));
    timed.addAll(command);
    Process process = new ProcessBuilder(timed).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String err = new String(process.getErrorStream().readAllBytes()).trim();
    if (process.waitFor() != 0) {
      throw new IOException(command + " failed: " + err);
    }
    String[] lines = err.split("\n");
    String[] times = lines[lines.length - 1].trim().split(" ");
    return Double.parseDouble(times[0]) + Double.parseDouble(times[1]);
  }
}
