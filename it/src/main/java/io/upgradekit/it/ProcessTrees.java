package io.upgradekit.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Stops whole process trees: a launcher script, the JVM it runs, and whatever that JVM started
 * (the node updater's services). Descendants are collected <em>before</em> anything is signalled,
 * because a child whose parent exits is re-parented to init and can no longer be found from the
 * tree.
 */
public final class ProcessTrees {
  private ProcessTrees() {}

  /** The process and all its descendants that are alive now, root first. */
  public static List<ProcessHandle> snapshot(ProcessHandle root) {
    List<ProcessHandle> all = new ArrayList<>();
    all.add(root);
    root.descendants().forEach(all::add);
    return all;
  }

  /**
   * SIGTERM to every process, up to {@code grace} for all of them to exit, then SIGKILL to the
   * survivors (and up to 10 s for those to go).
   *
   * @return the processes still alive afterwards (empty unless the kernel refused)
   */
  public static List<ProcessHandle> terminate(Collection<ProcessHandle> processes, Duration grace) {
    Map<Long, ProcessHandle> alive = new LinkedHashMap<>();
    for (ProcessHandle p : processes) {
      if (p.isAlive()) {
        alive.put(p.pid(), p);
      }
    }
    alive.values().forEach(ProcessHandle::destroy);
    awaitExit(alive.values(), grace);
    List<ProcessHandle> survivors = alive.values().stream().filter(ProcessHandle::isAlive).toList();
    survivors.forEach(ProcessHandle::destroyForcibly);
    awaitExit(survivors, Duration.ofSeconds(10));
    return survivors.stream().filter(ProcessHandle::isAlive).toList();
  }

  /** {@link #terminate} of the tree under {@code root} plus {@code extra} processes (by pid). */
  public static List<ProcessHandle> terminateTree(ProcessHandle root, Collection<Long> extraPids, Duration grace) {
    List<ProcessHandle> all = new ArrayList<>(snapshot(root));
    for (long pid : extraPids) {
      Optional<ProcessHandle> p = ProcessHandle.of(pid);
      if (p.isPresent()) {
        all.add(p.get());
        p.get().descendants().forEach(all::add);
      }
    }
    return terminate(all, grace);
  }

  private static void awaitExit(Collection<ProcessHandle> processes, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (ProcessHandle p : processes) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      try {
        p.onExit().get(left, TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        // onExit never completes exceptionally for a live handle; treat it as gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
