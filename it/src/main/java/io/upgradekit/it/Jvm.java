package io.upgradekit.it;

import java.nio.file.Path;

/** The JVM the harness runs on: every Java process it starts uses the same one. */
public final class Jvm {
  private Jvm() {}

  /** This JVM's {@code java} executable. */
  public static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** This JVM's home (for {@code JAVA_HOME}). */
  public static String home() {
    return System.getProperty("java.home");
  }
}
