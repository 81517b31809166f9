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

  private ProcessReaper() {}

  /** Registers {@code resource} to be closed at JVM shutdown unless it is unregistered first. */
  public static synchronized void register(AutoCloseable resource) {
    if (!hookInstalled) {
      Runtime.getRuntime().addShutdownHook(new Thread(ProcessReaper::closeAll, "upgradekit-it-reaper"));
      hookInstalled = true;
    }
    OPEN.add(resource);
  }

  public static synchronized void unregister(AutoCloseable resource) {
    OPEN.remove(resource);
  }

  /** Closes everything still registered, newest first; used by the shutdown hook. */
  public static void closeAll() {
    List<AutoCloseable> all;
    synchronized (ProcessReaper.class) {
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
