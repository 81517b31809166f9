package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The publish API sharing its directory with other publishers (the plugin's directory mode) that
 * die, pause or hang half-way through a pointer swap: it never waits unboundedly, takes over what
 * a dead publisher left, and fences a paused one.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PublishRecoveryTest {
  @TempDir Path root;
  @TempDir Path work;
  TestRepository repo = new TestRepository();
  ServerFixture server;
  final List<Process> children = new ArrayList<>();
  byte[] m1;
  byte[] m2;
  String etag1;

  @BeforeEach
  void start() throws Exception {
    repo.install(root);
    // A short idle timeout: the server then waits at most half of it for another publisher.
    server = new ServerFixture(root, b -> b.idleTimeout(Duration.ofSeconds(4)));
    m1 = publishRelease("1.0.0", 1);
    m2 = publishRelease("1.1.0", 2);
    HttpResponse<String> first = server.put("/v1/apps/demo/channels/stable",
        repo.pointer("demo", "stable", "1.0.0", 1, m1), "If-None-Match", "*");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    etag1 = first.headers().firstValue("ETag").orElseThrow();
  }

  @AfterEach
  void stop() throws Exception {
    children.forEach(Process::destroyForcibly);
    server.close();
  }

  byte[] publishRelease(String version, long sequence) throws Exception {
    byte[] bytes = TestRepository.randomBytes(2000, sequence);
    assertThat(server.put("/v1/blobs/" + Hashes.sha256(bytes), bytes).statusCode()).isIn(200, 201);
    byte[] manifest = repo.manifest("demo", version, sequence, bytes);
    assertThat(server.put("/v1/apps/demo/releases/" + version, manifest).statusCode()).isEqualTo(201);
    return manifest;
  }

  Path pointer() {
    return root.resolve("apps/demo/channels/stable.json");
  }

  Process child(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m", "-cp", System.getProperty("java.class.path"),
        PublisherProcess.class.getName()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    children.add(process);
    return process;
  }

  static BufferedReader lines(Process process) {
    return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  @Test
  void aLockHeldByAStoppedPublisherIsWaitedForBoundedAndNamed() throws Exception {
    Process holder = child("lock", pointer().toString());
    assertThat(lines(holder).readLine()).isEqualTo("locked");

    HttpResponse<String> blocked = server.put("/v1/apps/demo/channels/stable",
        repo.pointer("demo", "stable", "1.1.0", 2, m2), "If-Match", etag1);

    assertThat(blocked.statusCode()).as(blocked.body()).isEqualTo(500);
    assertThat(blocked.body()).contains("IO_ERROR").contains(".stable.json.lock").contains("fuser");
    holder.getOutputStream().close(); // it resumes and lets go
    assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
    HttpResponse<String> retried = server.put("/v1/apps/demo/channels/stable",
        repo.pointer("demo", "stable", "1.1.0", 2, m2), "If-Match", etag1);
    assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);
  }

  @Test
  void aClaimLeftByAKilledPublisherIsTakenOver() throws Exception {
    Path content = Files.write(work.resolve("p2"), repo.pointer("demo", "stable", "1.1.0", 2, m2));
    Process dead = child("claim", pointer().toString(), "2", "" + Duration.ofHours(1).toMillis(), content.toString());
    assertThat(lines(dead).readLine()).isEqualTo("claimed");
    dead.destroyForcibly();
    assertThat(dead.waitFor(30, TimeUnit.SECONDS)).isTrue();

    byte[] mine = repo.pointer("demo", "stable", "1.1.0", 2, m2);
    HttpResponse<String> swapped = server.put("/v1/apps/demo/channels/stable", mine, "If-Match", etag1);

    assertThat(swapped.statusCode()).as(swapped.body()).isEqualTo(200);
    assertThat(pointer()).hasBinaryContent(mine);
  }

  @Test
  void aPublisherPausedPastItsLeaseIsFencedByTheServer() throws Exception {
    byte[] theirs = repo.pointer("demo", "stable", "1.1.0", 2, m2);
    Path content = Files.write(work.resolve("p2"), theirs);
    Process paused = child("claim", pointer().toString(), "2", "500", content.toString());
    BufferedReader out = lines(paused);
    assertThat(out.readLine()).isEqualTo("claimed");

    byte[] mine = repo.pointer("demo", "stable", "1.0.0", 2, m1);
    HttpResponse<String> swapped = server.put("/v1/apps/demo/channels/stable", mine, "If-Match", etag1);
    assertThat(swapped.statusCode()).as(swapped.body()).isEqualTo(200);

    try (Writer resume = new OutputStreamWriter(paused.getOutputStream(), StandardCharsets.UTF_8)) {
      resume.write("go\n");
    }
    assertThat(out.readLine()).isEqualTo("SUPERSEDED");
    assertThat(pointer()).hasBinaryContent(mine);
  }
}
