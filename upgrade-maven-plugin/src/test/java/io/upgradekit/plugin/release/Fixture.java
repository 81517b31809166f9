package io.upgradekit.plugin.release;

import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/** A fresh directory repository with a trust root, its release key, and payloads to release. */
final class Fixture {
  static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
  static final Instant BUILT = Instant.parse("2026-11-22T00:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  final Path dir;
  final Path repository;
  final SigningKey key;
  final List<Event> events = new CopyOnWriteArrayList<>();

  Fixture(Path dir) throws IOException {
    this.dir = dir;
    this.repository = dir.resolve("repo");
    Path keyFile = dir.resolve("keys/release.pem");
    new KeyGenerator(CLOCK, events::add).generate(new KeyGenerator.Request(keyFile, repository, null,
        KeyGenerator.DEFAULT_ROOT_LIFETIME));
    this.key = SigningKey.fromPem(Files.readString(keyFile));
  }

  /** A payload directory with a jar-like file whose content depends on {@code version}. */
  Path payload(String version) throws IOException {
    Path payload = dir.resolve("payloads/" + version);
    Files.createDirectories(payload.resolve("lib"));
    Files.writeString(payload.resolve("lib/common.jar"), "common library bytes ".repeat(200));
    Files.writeString(payload.resolve("app.jar"), "application " + version + " ".repeat(500));
    return payload;
  }

  ReleaseRequest request(String version, Path payload) {
    return request(version, payload, "stable", 3, "work-" + version);
  }

  ReleaseRequest request(String version, Path payload, String channel, int deltaCount, String work) {
    return new ReleaseRequest("demo", version, channel, payload, repository.toString(), null, key, deltaCount, BUILT,
        ReleaseRequest.DEFAULT_MANIFEST_LIFETIME, ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(),
        dir.resolve(work), dir.resolve(work + "-release.json"), ReleaseRequest.DEFAULT_POINTER_ATTEMPTS);
  }

  ReleaseBuilder builder() {
    return new ReleaseBuilder(new CopyingEngine(), (location, token) -> new DirectoryRepository(Path.of(location)),
        CLOCK, events::add);
  }

  ReleaseResult release(String version) throws IOException {
    return builder().release(request(version, payload(version)));
  }

  /** Every file of the repository with its content and modification time, to prove nothing changed. */
  Map<String, String> snapshot() throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(repository)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        files.put(repository.relativize(file).toString(), Files.getLastModifiedTime(file) + " "
            + new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1));
      }
    }
    return files;
  }

  RepositoryVerifier.Report verify() {
    return new RepositoryVerifier(new CopyingEngine(), CLOCK, events::add)
        .verify(new DirectoryRepository(repository), dir.resolve("verify-work"));
  }

  static Duration days(int n) {
    return Duration.ofDays(n);
  }
}
