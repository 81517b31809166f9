package io.upgradekit.updater.testsupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A small file system (tmpfs) mounted over a directory, for tests that must run out of space.
 * Mounted directly when this process may ({@code mount -t tmpfs}, as root); else in a private
 * mount namespace ({@code unshare -rm}) held by a helper process, which the processes under test
 * enter with {@link #commandPrefix()} and this JVM reaches through {@code /proc/<pid>/root}. If
 * neither works, {@link #mount} fails with a message that says what the test needs: a test that
 * needs a full disk never passes without one.
 *
 * <p>{@code -Dupgradekit.test.smallfs=namespace} skips the direct mount (to exercise the other way).
 */
public final class SmallFileSystem implements AutoCloseable {
  private final Path dir;
  private final Path seen;
  private final Process holder;
  private final List<String> prefix;

  private SmallFileSystem(Path dir, Path seen, Process holder, List<String> prefix) {
    this.dir = dir;
    this.seen = seen;
    this.holder = holder;
    this.prefix = prefix;
  }

  /** Mounts a tmpfs of {@code bytes} over the (empty) directory {@code dir}. */
  public static SmallFileSystem mount(Path dir, long bytes) throws IOException, InterruptedException {
    Path absolute = dir.toAbsolutePath();
    Files.createDirectories(absolute);
    String options = "size=" + bytes + ",mode=0755";
    List<String> tried = new ArrayList<>();
    if (!"namespace".equals(System.getProperty("upgradekit.test.smallfs"))) {
      Result direct = run(List.of("mount", "-t", "tmpfs", "-o", options, "tmpfs", absolute.toString()));
      if (direct.status == 0) {
        return new SmallFileSystem(absolute, absolute, null, List.of());
      }
      tried.add("mount -t tmpfs: " + direct.output.strip());
    }
    // A private mount namespace, kept alive by a process that waits on its stdin.
    Process holder;
    try {
      holder = new ProcessBuilder("unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
          "sh", "-c", "mount -t tmpfs -o " + options + " tmpfs '" + absolute + "' && echo mounted && exec cat")
          .redirectErrorStream(true).start();
    } catch (IOException e) {
      tried.add("unshare -rm: " + e.getMessage());
      throw new AssertionError(needs(tried));
    }
    BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    String first;
    try {
      first = line.get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      first = null;
    }
    if (!"mounted".equals(first)) {
      holder.destroyForcibly();
      tried.add("unshare -rm: " + first);
      throw new AssertionError(needs(tried));
    }
    String pid = Long.toString(holder.pid());
    Path seen = Path.of("/proc", pid, "root").resolve(absolute.toString().substring(1));
    return new SmallFileSystem(absolute, seen, holder, List.of("nsenter", "--target", pid, "--user", "--mount",
        "--preserve-credentials", "--"));
  }

  private static String needs(List<String> tried) {
    return "this test needs a small file system that fills up: run it as root (mount -t tmpfs) or where "
        + "unprivileged user namespaces are allowed (unshare -rm, e.g. sysctl kernel.unprivileged_userns_clone=1); "
        + "tried: " + String.join("; ", tried);
  }

  /** The mounted directory as this JVM reaches it. */
  public Path path() {
    return seen;
  }

  /** What to put before a command so that it runs where the file system is mounted (empty when mounted here). */
  public List<String> commandPrefix() {
    return prefix;
  }

  /** Free bytes for an unprivileged writer. */
  public long usable() throws IOException {
    return Files.getFileStore(seen).getUsableSpace();
  }

  /** Writes a file of real bytes (tmpfs keeps no holes) until at most {@code leave} bytes are free. */
  public void fillLeaving(String name, long leave) throws IOException {
    byte[] block = new byte[64 * 1024];
    java.util.Arrays.fill(block, (byte) 'f');
    try (var out = Files.newOutputStream(seen.resolve(name))) {
      while (usable() > leave) {
        out.write(block, 0, (int) Math.min(block.length, usable() - leave));
      }
    }
  }

  @Override
  public String toString() {
    return "tmpfs at " + dir + (holder == null ? " (mounted here)" : " (in the mount namespace of pid " + holder.pid()
        + ", seen here as " + seen + ")");
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (holder != null) {
      holder.getOutputStream().close(); // cat ends, and with it the namespace and its mount
      if (!holder.waitFor(20, TimeUnit.SECONDS)) {
        holder.destroyForcibly();
      }
      return;
    }
    Result umount = run(List.of("umount", dir.toString()));
    if (umount.status != 0) {
      run(List.of("umount", "-l", dir.toString())); // still busy: detach it now, it goes when unused
    }
  }

  private record Result(int status, String output) {}

  private static Result run(List<String> command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(-1, e.getMessage());
    }
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return e.toString();
      }
    });
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Result(-1, String.join(" ", command) + " did not finish in 20 s");
    }
    return new Result(p.exitValue(), output.join());
  }
}
