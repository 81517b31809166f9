package io.upgradekit.updater.cli;

import io.upgradekit.schema.delta.DeltaApplier;
import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.schema.delta.DeltaEvent;
import io.upgradekit.updater.engine.ExitStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code updater delta diff|apply}: build and apply tree deltas by hand. */
@Command(
    name = "delta",
    mixinStandardHelpOptions = true,
    description = "Build or apply a delta between two payloads (directories, .zip/.tar/.tar.gz/.tgz archives, or "
        + "single files such as .jar). An empty directory as OLD means \"no old payload\" (a full package).",
    subcommands = {DeltaCommand.Diff.class, DeltaCommand.Apply.class})
public final class DeltaCommand {

  @Command(name = "diff", mixinStandardHelpOptions = true,
      description = "Write a delta that turns OLD into NEW; it is applied to a scratch directory and checked "
          + "before the command reports success.")
  static final class Diff implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OLD", description = "the old payload")
    Path oldPayload;

    @Parameters(index = "1", paramLabel = "NEW", description = "the new payload")
    Path newPayload;

    @Parameters(index = "2", paramLabel = "PATCH", description = "the delta file to write")
    Path patch;

    @Option(names = "--explain", description = "after the summary, list the largest contributors: every changed "
        + "file and zip entry, how it was encoded, what it was diffed against, its size and bytes")
    boolean explain;

    @Option(names = "--top", paramLabel = "N", defaultValue = "25",
        description = "how many contributors --explain lists (default: ${DEFAULT-VALUE}; 0: all)")
    int top;

    @Override
    public Integer call() throws IOException {
      requireExists(spec, oldPayload, "OLD");
      requireExists(spec, newPayload, "NEW");
      requireParent(spec, patch, "PATCH");
      if (top < 0) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--top must be 0 (all) or more, not " + top);
      }
      DeltaBuilder.DiffResult r = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(oldPayload, newPayload, patch)
          .withListener(progress(spec)).withExplain(explain));
      long newSize = payloadSize(newPayload, r.target().totalSize());
      PrintWriter out = spec.commandLine().getOut();
      int fellBack = r.fallbacks().values().stream().mapToInt(Integer::intValue).sum();
      out.printf("delta %s: %,d bytes for a %,d-byte payload (%s); %d kept, %d moved, %d patched, %d zips rebuilt, "
              + "%d new; %s; verified; %.2f s%n",
          patch, r.deltaSize(), newSize, ratio(r.deltaSize(), newSize), r.kept(), r.copied(), r.patched(), r.rebuilt(),
          r.full(), fellBack == 0 ? "no fallbacks" : fellBack + (fellBack == 1 ? " fallback (" : " fallbacks (")
              + fallbackReasons(r.fallbacks()) + ")", r.elapsed().toNanos() / 1e9);
      if (explain) {
        explain(out, r);
      }
      out.flush();
      return ExitStatus.OK;
    }

    private void explain(PrintWriter out, DeltaBuilder.DiffResult r) {
      List<DeltaBuilder.Contribution> all = r.contributions();
      int n = top == 0 ? all.size() : Math.min(top, all.size());
      out.printf("largest contributors (%d of %d changed files and zip entries; bytes: exact for patch and own, "
          + "an estimate of the cost alone for group and stream members, '-' for a zip itself):%n", n, all.size());
      out.printf("%12s  %-10s  %12s  %s%n", "bytes", "encoding", "size", "path  <- source (paired by) [fallback]");
      for (DeltaBuilder.Contribution c : all.subList(0, n)) {
        String bytes = c.encoding().equals("zip") ? "-" : c.bytes() < 0 ? "?" : String.format("%,d", c.bytes());
        out.printf("%12s  %-10s  %,12d  %s%s%s%n", bytes, c.encoding(), c.size(), c.path(),
            c.source() == null ? "  <- nothing (new)" : c.source().equals(c.path()) ? ""
                : "  <- " + c.source() + " (" + c.pairedBy() + ")",
            c.fallback() == null ? "" : "  [" + c.fallback() + "]");
      }
    }
  }

  private static String fallbackReasons(Map<String, Integer> fallbacks) {
    StringBuilder s = new StringBuilder();
    fallbacks.forEach((reason, count) -> s.append(s.length() == 0 ? "" : "; ").append(count).append(" ").append(reason));
    return s.toString();
  }

  @Command(name = "apply", mixinStandardHelpOptions = true,
      description = "Apply PATCH to OLD, writing the new payload to OUT (a new directory, or a new file for a "
          + "single-file payload; an existing directory receives the single file under its own name).")
  static final class Apply implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OLD", description = "the old payload the delta was built from")
    Path oldPayload;

    @Parameters(index = "1", paramLabel = "PATCH", description = "the delta file")
    Path patch;

    @Parameters(index = "2", paramLabel = "OUT", description = "where to write the new payload; must not exist")
    Path out;

    @Override
    public Integer call() throws IOException {
      requireExists(spec, oldPayload, "OLD");
      requireExists(spec, patch, "PATCH");
      requireParent(spec, out, "OUT");
      boolean intoDirectory = Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)
          && DeltaApplier.readHeader(patch).targetIsSingleFile();
      if (Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !intoDirectory) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "OUT " + out + " already exists; apply writes a new directory (or file, for a single-file payload)");
      }
      long patchSize = Files.size(patch);
      Instant applyStarted = Instant.now();
      DeltaApplier.ApplyResult r = DeltaApplier.apply(
          DeltaApplier.ApplyRequest.of(oldPayload, patch, out).withListener(progress(spec)));
      PrintWriter o = spec.commandLine().getOut();
      o.printf("applied %s (%,d bytes) to %s: %d entries at %s, %d linked, %d copied, %d rebuilt (%,d bytes); "
              + "verified; %.2f s%s%n",
          patch, patchSize, oldPayload, r.target().entries().size(), r.out(), r.linked(), r.copied(), r.produced(),
          r.producedBytes(), r.elapsed().toNanos() / 1e9, startup(applyStarted));
      o.flush();
      return ExitStatus.OK;
    }
  }

  /**
   * How long this process ran before the apply began (JVM start and the command line), so that a
   * user timing the command sees which part is the apply: a node applies inside its running updater.
   */
  private static String startup(Instant applyStarted) {
    // The JVM's own record of its start (the process start time in /proc can be off in containers).
    Duration before = Duration.between(Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()),
        applyStarted);
    return before.isNegative() ? ""
        : String.format(", after %.2f s of JVM and command-line start", before.toNanos() / 1e9);
  }

  private static void requireExists(CommandSpec spec, Path path, String label) {
    if (!Files.exists(path)) {
      throw new CommandLine.ParameterException(spec.commandLine(), label + " " + path + " does not exist");
    }
  }

  private static void requireParent(CommandSpec spec, Path path, String label) {
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null && !Files.isDirectory(parent)) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          label + " " + path + " is in a directory that does not exist: " + parent);
    }
  }

  private static long payloadSize(Path payload, long treeSize) throws IOException {
    return Files.isRegularFile(payload) ? Files.size(payload) : treeSize;
  }

  private static String ratio(long delta, long whole) {
    return whole == 0 ? "n/a" : String.format("%.2f%%", 100.0 * delta / whole);
  }

  /** A progress line on an interactive terminal; nothing otherwise (CI, systemd, tests). */
  private static Consumer<DeltaEvent> progress(CommandSpec spec) {
    if (System.console() == null) {
      return e -> { };
    }
    PrintWriter err = spec.commandLine().getErr();
    return e -> {
      switch (e.stage()) {
        case DIFF, APPLY -> err.printf("\r%s %d/%d files\u001b[K", e.stage().name().toLowerCase(), e.done(), e.total());
        case VERIFY -> err.print("\rverifying\u001b[K");
        case DONE -> err.print("\r\u001b[K");
        default -> { }
      }
      err.flush();
    };
  }
}
