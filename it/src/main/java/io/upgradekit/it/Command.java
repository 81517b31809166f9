package io.upgradekit.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A short-lived command (a CLI call, a Maven run), bounded in time: its output goes to a log file,
 * and a command still running at its timeout is killed with its whole tree.
 */
public final class Command {
  private Command() {}

  /**
   * What a finished command did.
   *
   * @param exitCode its status
   * @param stdout what it printed on standard output
   * @param logFile where standard error (and, when asked, standard output) went
   * @param duration how long it ran
   */
  public record Result(int exitCode, String stdout, Path logFile, Duration duration) {
    /** The result if the command exited 0; else a {@link HarnessException} naming the log. */
    public Result requireSuccess(String what) {
      if (exitCode != 0) {
        throw new HarnessException(what + " exited with status " + exitCode + "; log " + logFile + ", last lines:"
            + System.lineSeparator() + ManagedProcess.tail(logFile, 25));
      }
      return this;
    }
  }

  /**
   * Runs {@code command} to completion. Standard output is captured (and also appended to the log),
   * standard error goes to {@code logFile}.
   *
   * @throws HarnessException if it cannot start or runs longer than {@code timeout}
   */
  public static Result run(List<String> command, Map<String, String> environment, Path workingDir, Path logFile,
      Duration timeout) {
    long started = System.nanoTime();
    Path stdout = logFile.resolveSibling(logFile.getFileName() + ".stdout");
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      Files.writeString(logFile, "# " + String.join(" ", command) + System.lineSeparator(), StandardCharsets.UTF_8);
      ProcessBuilder builder = new ProcessBuilder(command)
          .directory(workingDir.toFile())
          .redirectOutput(stdout.toFile())
          .redirectError(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      environment.forEach((k, v) -> {
        if (v == null) {
          builder.environment().remove(k); // null: not inherited from the harness
        } else {
          builder.environment().put(k, v);
        }
      });
      Process process = builder.start();
      AutoCloseable reap = () -> ProcessTrees.terminate(ProcessTrees.snapshot(process.toHandle()), Duration.ofSeconds(5));
      ProcessReaper.register(reap);
      try {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          ProcessTrees.terminate(ProcessTrees.snapshot(process.toHandle()), Duration.ofSeconds(5));
          throw new HarnessException(String.join(" ", command) + " did not finish within " + timeout.toSeconds()
              + " s and was killed; log " + logFile);
        }
      } catch (InterruptedException e) {
        ProcessTrees.terminate(ProcessTrees.snapshot(process.toHandle()), Duration.ofSeconds(5));
        throw e;
      } finally {
        ProcessReaper.unregister(reap);
      }
      String out = Files.readString(stdout, StandardCharsets.UTF_8);
      Files.writeString(logFile, out, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
      Files.deleteIfExists(stdout);
      return new Result(process.exitValue(), out, logFile, Duration.ofNanos(System.nanoTime() - started));
    } catch (IOException e) {
      throw new HarnessException("cannot run " + String.join(" ", command) + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HarnessException("interrupted while running " + String.join(" ", command), e);
    }
  }
}
