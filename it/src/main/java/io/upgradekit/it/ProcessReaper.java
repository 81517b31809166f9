package io.upgradekit.it;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The last line of defence against leaked processes: everything that starts a process registers
 * here, and a JVM shutdown hook (Ctrl-C, SIGTERM, a test fork killed by its timeout, a normal exit
 * with something still open) closes what is still registered, newest first. Normal code closes its
 * resources itself and unregisters them.
 */
public final class ProcessReaper {
  private static final Set<AutoCloseable> OPEN = new LinkedHashSet<>();
  private static boolean hookInstalled;
  private static boolean shuttingDown;

  private ProcessReaper() {}

  /**
   * Registers {@code resource} to be closed at JVM shutdown unless it is unregistered first. Once
   * the shutdown began, nothing new may run: the resource is closed at once and a {@link
   * HarnessException} thrown (the thread that started it goes on running during shutdown).
   */
  public static void register(AutoCloseable resource) {
    synchronized (ProcessReaper.class) {
      if (!hookInstalled) {
        Runtime.getRuntime().addShutdownHook(new Thread(ProcessReaper::closeAll, "upgradekit-it-reaper"));
        hookInstalled = true;
      }
      if (!shuttingDown) {
        OPEN.add(resource);
        return;
      }
    }
    try {
      resource.close();
    } catch (Exception e) {
      // reported below
    }
    throw new HarnessException("the JVM is shutting down: " + resource + " was stopped at once");
  }

  /** True once the shutdown hook ran (Ctrl-C, SIGTERM, System.exit). */
  public static synchronized boolean shuttingDown() {
    return shuttingDown;
  }

  public static synchronized void unregister(AutoCloseable resource) {
    OPEN.remove(resource);
  }

  /** Closes everything still registered, newest first; used by the shutdown hook. */
  public static void closeAll() {
    List<AutoCloseable> all;
    synchronized (ProcessReaper.class) {
      shuttingDown = true;
      all = new ArrayList<>(OPEN);
      OPEN.clear();
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      try {
        all.get(i).close();
      } catch (Exception e) {
        System.err.println("upgradekit-it: cleaning up " + all.get(i) + " failed: " + e);
      }
    }
  }
}
