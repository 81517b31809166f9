package io.upgradekit.schema.delta;

import java.util.Objects;

/**
 * Progress of a diff or an apply, for adapters to render (a terminal line, a log, feedback). The
 * engine never prints. Listeners are called from one thread at a time, but not always the same one.
 *
 * @param stage what the engine is doing
 * @param detail a path or short note; empty when there is none
 * @param done units of work finished in this stage (files, or bytes for {@link Stage#WRITE})
 * @param total units of work in this stage, or -1 when unknown
 */
public record DeltaEvent(Stage stage, String detail, long done, long total) {
  public enum Stage {
    /** Reading and hashing a payload or the old tree. */
    SCAN,
    /** Diffing changed files (done/total count files). */
    DIFF,
    /** Writing the delta blob (done = bytes). */
    WRITE,
    /** Applying the new delta to prove it reproduces the new tree. */
    VERIFY,
    /** Producing files of the new tree (done/total count files). */
    APPLY,
    /** Finished; detail summarizes. */
    DONE
  }

  public DeltaEvent {
    Objects.requireNonNull(stage, "stage");
    detail = detail == null ? "" : detail;
  }
}
