package io.upgradekit.schema.delta;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.delta.DeltaApplier.ApplyRequest;
import java.nio.file.Path;

/**
 * Applies a delta ({@code apply OLD|- DELTA OUT}) or reads a payload ({@code read PAYLOAD
 * SCRATCH}) the way a node does, for {@link SmallHeapHostileTest} to run in a JVM with the
 * distribution's heap. Prints {@code OK} or {@code CODE: sentence}; anything else (an Error) ends
 * the JVM with a stack trace and a non-zero status.
 */
public final class HostileMain {
  private HostileMain() {}

  public static void main(String[] args) {
    try {
      if (args[0].equals("apply")) {
        Path old = args[1].equals("-") ? null : Path.of(args[1]);
        DeltaApplier.apply(ApplyRequest.of(old, Path.of(args[2]), Path.of(args[3])));
      } else {
        try (Payload p = PayloadReader.read(Path.of(args[1]),
            PayloadReader.Options.defaults().withScratch(Path.of(args[2])))) {
          p.tree();
        }
      }
      System.out.println("OK");
    } catch (UpgradeException e) {
      System.out.println(e.code() + ": " + e.getMessage());
    }
  }
}
