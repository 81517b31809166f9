package io.upgradekit.server;

import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.model.DocumentType;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * Another publisher sharing the server's directory (the plugin's directory mode does what this
 * does), in its own JVM, for {@link PublishRecoveryTest}:
 *
 * <ul>
 *   <li>{@code claim POINTER SEQUENCE LEASE_MILLIS CONTENT_FILE}: claims the sequence, prints
 *       {@code claimed}, waits for a line on stdin, then compares and writes CONTENT_FILE's bytes
 *       and prints the outcome;
 *   <li>{@code lock POINTER}: takes the OS lock every pointer writer takes, prints {@code locked},
 *       and holds it until stdin closes (a publisher stopped while it holds the lock).
 * </ul>
 */
public final class PublisherProcess {
  private PublisherProcess() {}

  public static void main(String[] args) throws Exception {
    Path pointer = Path.of(args[1]);
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PointerSwap swap = new PointerSwap(pointer, DocumentType.CHANNEL.maxBytes(),
        Duration.ofMillis(args.length > 3 ? Long.parseLong(args[3]) : 1000), Duration.ofSeconds(60),
        Clock.systemUTC(), System.err::println);
    if (args[0].equals("lock")) {
      try (FileChannel channel = FileChannel.open(swap.lockFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = channel.lock()) {
        System.out.println("locked");
        System.out.flush();
        stdin.readLine();
      }
      return;
    }
    long sequence = Long.parseLong(args[2]);
    byte[] content = Files.readAllBytes(Path.of(args[4]));
    byte[] head = swap.readDocument();
    PointerSwap.Check unchanged = current -> Arrays.equals(current, head);
    Optional<PointerSwap.Held> held = swap.claim(sequence, "child", unchanged,
        System.nanoTime() + Duration.ofSeconds(60).toNanos());
    System.out.println(held.isPresent() ? "claimed" : "changed");
    System.out.flush();
    stdin.readLine();
    System.out.println(held.orElseThrow().write(content, unchanged, System.nanoTime() + Duration.ofSeconds(60).toNanos()));
  }
}
