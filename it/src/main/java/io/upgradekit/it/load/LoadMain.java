package io.upgradekit.it.load;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The load generator from the command line (for scripts such as benchmarks):
 *
 * <pre>
 * java -cp it/target/classes:$(cat it/target/classpath.txt) io.upgradekit.it.load.LoadMain \
 *     --rate 500 --seconds 20 [--name NAME]... URL...
 * </pre>
 *
 * Prints the report's table; exit status 0 whatever failed (the figures are the result).
 */
public final class LoadMain {
  private LoadMain() {}

  public static void main(String[] args) throws InterruptedException {
    int rate = 200;
    double seconds = 10;
    List<String> names = new ArrayList<>();
    List<URI> urls = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rate" -> rate = Integer.parseInt(args[++i]);
        case "--seconds" -> seconds = Double.parseDouble(args[++i]);
        case "--name" -> names.add(args[++i]);
        case "-h", "--help" -> {
          System.out.println("usage: LoadMain [--rate N] [--seconds S] [--name NAME]... URL...");
          return;
        }
        default -> urls.add(URI.create(args[i]));
      }
    }
    if (urls.isEmpty()) {
      System.err.println("LoadMain: give at least one URL, e.g. http://127.0.0.1:8080/");
      System.exit(2);
    }
    LoadGenerator.Builder b = LoadGenerator.builder().rate(rate);
    for (int i = 0; i < urls.size(); i++) {
      b.target(i < names.size() ? names.get(i) : "target-" + (i + 1), urls.get(i));
    }
    LoadGenerator load = b.maxDuration(Duration.ofMillis((long) (seconds * 1000) + 1000)).build().start();
    Thread.sleep((long) (seconds * 1000));
    LoadReport report = load.stop();
    System.out.printf("%d requests/s for %s, a new connection each, no retries%n", rate,
        LoadReport.millis(report.duration()));
    System.out.print(report.table());
  }
}
