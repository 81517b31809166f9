package io.upgradekit.plugin.release;

import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * A publishing JVM for {@link PointerSwapProcessTest}. Pointers here are text, {@code seq=<n> by <who>}.
 *
 * <ul>
 *   <li>{@code claim ROOT SEQUENCE LEASE_MILLIS}: claims the sequence of channel demo/stable, prints
 *       {@code claimed}, waits for a line on stdin (the test pauses it there, or kills it), then
 *       compares and writes as a publisher would and prints the outcome.
 *   <li>{@code race ROOT ID ROUNDS}: publishes ROUNDS pointers, each on the head it reads, retrying
 *       on a lost race; prints {@code won <sequence>} for each.
 * </ul>
 */
public final class PublisherProcess {
  private PublisherProcess() {}

  static String pointerText(long sequence, String who) {
    return "seq=" + sequence + " by " + who;
  }

  static long sequenceOf(byte[] pointer) {
    if (pointer == null) {
      return 0;
    }
    String text = new String(pointer, StandardCharsets.UTF_8);
    return Long.parseLong(text.substring(4, text.indexOf(' ')));
  }

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[1]);
    Path pointer = root.resolve(RepositoryLayout.channelPointer("demo", "stable"));
    Files.createDirectories(pointer.getParent());
    if (args[0].equals("claim")) {
      long sequence = Long.parseLong(args[2]);
      PointerSwap swap = new PointerSwap(pointer, 64 * 1024, Duration.ofMillis(Long.parseLong(args[3])),
          Duration.ofSeconds(60), Clock.systemUTC(), System.err::println);
      byte[] head = swap.readDocument();
      PointerSwap.Check unchanged = current -> java.util.Arrays.equals(current, head);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      Optional<PointerSwap.Held> held = swap.claim(sequence, "child", unchanged, deadline);
      System.out.println(held.isPresent() ? "claimed" : "changed");
      System.out.flush();
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      PointerSwap.Outcome outcome = held.orElseThrow().write(
          pointerText(sequence, "the paused publisher").getBytes(StandardCharsets.UTF_8), unchanged,
          System.nanoTime() + Duration.ofSeconds(60).toNanos());
      System.out.println(outcome);
      return;
    }
    String id = args[2];
    int rounds = Integer.parseInt(args[3]);
    DirectoryRepository repository = new DirectoryRepository(root);
    String path = RepositoryLayout.channelPointer("demo", "stable");
    for (int round = 0; round < rounds; round++) {
      while (true) {
        Repository.Stored head = repository.read(path, 64 * 1024);
        long sequence = sequenceOf(head == null ? null : head.bytes()) + 1;
        byte[] pointerBytes = pointerText(sequence, id + " round " + round).getBytes(StandardCharsets.UTF_8);
        if (repository.replacePointer("demo", "stable", head, sequence - 1, pointerBytes, sequence)) {
          System.out.println("won " + sequence);
          System.out.flush();
          break;
        }
      }
    }
    System.out.println("done");
  }
}
