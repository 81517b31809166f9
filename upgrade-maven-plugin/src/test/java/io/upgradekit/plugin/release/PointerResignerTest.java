package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PointerResignerTest {
  /** Half a year after the build: a 365-day pointer from the build has half a year left. */
  static final Instant LATER = Fixture.NOW.plus(Duration.ofDays(180));

  @TempDir Path dir;
  Fixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new Fixture(dir);
  }

  private PointerResigner resigner(Instant now) {
    return new PointerResigner((location, token) -> new DirectoryRepository(Path.of(location)),
        Clock.fixed(now, ZoneOffset.UTC), fixture.events::add);
  }

  private PointerResigner.Request request(int days, Integer within) {
    return new PointerResigner.Request("demo", "stable", fixture.repository.toString(), null, fixture.key,
        Duration.ofDays(days), within == null ? null : Duration.ofDays(within), 5);
  }

  private ChannelPointer pointer() throws IOException {
    byte[] bytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable")));
    return Json.read(Envelopes.parse(bytes, DocumentType.CHANNEL).payloadBytes(), ChannelPointer.class, "channel");
  }

  @Test
  void keepsTheReleaseAndHistoryAndMovesTheSequenceAndExpiry() throws IOException {
    fixture.release("1.0.0");
    fixture.release("1.1.0");
    ChannelPointer before = pointer();

    PointerResigner.Result result = resigner(LATER).resign(request(30, null));

    ChannelPointer after = pointer();
    assertThat(result.resigned()).isTrue();
    assertThat(after.version()).isEqualTo("1.1.0");
    assertThat(after.manifest()).isEqualTo(before.manifest());
    assertThat(after.previous()).isEqualTo(before.previous()).containsExactly("1.0.0");
    assertThat(after.sequence()).isEqualTo(before.sequence() + 1).isEqualTo(result.sequence());
    assertThat(after.expires()).isEqualTo(LATER.plus(Duration.ofDays(30))).isEqualTo(result.expires());
    assertThat(result.previousExpires()).isEqualTo(before.expires());
    // What a node does: the new pointer verifies with the trust root, after the one it trusted before.
    Clock nodeClock = Clock.fixed(LATER, ZoneOffset.UTC);
    byte[] bytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable")));
    assertThat(new MetadataVerifier(trustRoot(), nodeClock)
        .verifyChannelPointer(bytes, "demo", "stable", before.sequence()).version()).isEqualTo("1.1.0");
    assertThat(fixture.verify().problems()).isEmpty();
  }

  private io.upgradekit.schema.model.TrustRoot trustRoot() throws IOException {
    return TrustRoots.readPinned(Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.trustRoot(1))),
        Clock.fixed(Fixture.NOW, ZoneOffset.UTC));
  }

  @Test
  void withResignWithinItWritesOnlyWhenTheExpiryIsThatClose() throws IOException {
    fixture.release("1.0.0"); // the pointer expires 365 days after the build
    Map<String, String> before = fixture.snapshot();

    PointerResigner.Result early = resigner(LATER).resign(request(365, 30));

    assertThat(early.resigned()).isFalse();
    assertThat(early.sequence()).isEqualTo(1);
    assertThat(fixture.snapshot()).as("nothing written").isEqualTo(before);
    assertThat(fixture.events).anySatisfy(e -> assertThat(e.toString()).contains("nothing to re-sign"));

    PointerResigner.Result due = resigner(Fixture.BUILT.plus(Duration.ofDays(340))).resign(request(365, 30));

    assertThat(due.resigned()).isTrue();
    assertThat(pointer().sequence()).isEqualTo(2);
  }

  @Test
  void refusesWhenTheReleaseManifestExpiresFirstSayingWhatToDo() throws IOException {
    ReleaseRequest shortLived = new ReleaseRequest("demo", "1.0.0", "stable", fixture.payload("1.0.0"),
        fixture.repository.toString(), null, fixture.key, 3, Fixture.BUILT, Duration.ofDays(200),
        Duration.ofDays(100), Map.of(), dir.resolve("w"), dir.resolve("w.json"), 5);
    fixture.builder().release(shortLived);
    Map<String, String> before = fixture.snapshot();

    assertThatThrownBy(() -> resigner(Fixture.BUILT.plus(Duration.ofDays(90))).resign(request(365, null)))
        .isInstanceOf(ConfigurationException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.METADATA_EXPIRED))
        .hasMessageContaining("the release manifest of demo 1.0.0, which channel stable points at, expires at "
            + Fixture.BUILT.plus(Duration.ofDays(200)))
        .hasMessageContaining("Publish a new release to the channel before then")
        .hasMessageContaining("-Dupgrade.pointerExpiryDays=110");
    assertThatThrownBy(() -> resigner(Fixture.BUILT.plus(Duration.ofDays(201))).resign(request(30, null)))
        .hasMessageContaining("expired at " + Fixture.BUILT.plus(Duration.ofDays(200)))
        .hasMessageContaining("re-signing the pointer cannot help");
    assertThat(fixture.snapshot()).as("nothing written").isEqualTo(before);

    // Within what the manifest allows, it re-signs.
    assertThat(resigner(Fixture.BUILT.plus(Duration.ofDays(90))).resign(request(110, null)).resigned()).isTrue();
  }

  @Test
  void aChannelWithoutAPointerOrAKeyThatIsNoReleaseKeyIsRefused() throws IOException {
    assertThatThrownBy(() -> resigner(LATER).resign(request(30, null)))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("channel stable of demo has no pointer")
        .hasMessageContaining("mvn package upgrade:release");

    fixture.release("1.0.0");
    PointerResigner.Request stranger = new PointerResigner.Request("demo", "stable", fixture.repository.toString(),
        null, SigningKey.generate(), Duration.ofDays(30), null, 5);
    assertThatThrownBy(() -> resigner(LATER).resign(stranger))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("is not a release key");
    assertThatThrownBy(() -> request(30, 31)).hasMessageContaining("<resignWithinDays> is 31");
  }

  @Test
  void anExpiredPointerIsReSignedSoNodesTakeItAgain() throws IOException {
    fixture.release("1.0.0");
    Instant afterExpiry = Fixture.BUILT.plus(Duration.ofDays(365)).plus(Duration.ofHours(1));

    PointerResigner.Result result = resigner(afterExpiry).resign(request(30, null));

    assertThat(result.previousExpires()).isBefore(afterExpiry);
    assertThat(pointer().expires()).isEqualTo(afterExpiry.plus(Duration.ofDays(30)));
    assertThat(fixture.events).as("the trust root expires before the new pointer").anySatisfy(e ->
        assertThat(e.toString()).contains("Rotate the trust root before"));
  }

  @Test
  void aPublisherThatMovesTheChannelMeanwhileWinsAndItsHeadIsReSigned() throws IOException {
    fixture.release("1.0.0");
    AtomicBoolean raced = new AtomicBoolean();
    PointerResigner resigner = new PointerResigner((location, token) -> new RacedRepository(
        new DirectoryRepository(Path.of(location)), () -> {
          if (raced.compareAndSet(false, true)) {
            fixture.release("1.1.0"); // another publisher, between our read and our swap
          }
        }), Clock.fixed(LATER, ZoneOffset.UTC), fixture.events::add);

    PointerResigner.Result result = resigner.resign(request(30, null));

    assertThat(result.version()).isEqualTo("1.1.0");
    ChannelPointer after = pointer();
    assertThat(after.version()).isEqualTo("1.1.0");
    assertThat(after.sequence()).isEqualTo(3);
    assertThat(after.previous()).containsExactly("1.0.0");
    assertThat(after.expires()).isEqualTo(LATER.plus(Duration.ofDays(30)));
    assertThat(fixture.events).anySatisfy(e -> assertThat(e.toString()).contains("another publisher moved"));
  }

  /** A repository where something happens just before each pointer swap. */
  private record RacedRepository(Repository repository, Before before) implements Repository {
    interface Before {
      void run() throws IOException;
    }

    @Override
    public String location() {
      return repository.location();
    }

    @Override
    public Stored read(String path, int maxBytes) throws IOException {
      return repository.read(path, maxBytes);
    }

    @Override
    public boolean fetchBlob(io.upgradekit.schema.model.BlobRef blob, Path target) throws IOException {
      return repository.fetchBlob(blob, target);
    }

    @Override
    public boolean putBlob(io.upgradekit.schema.model.BlobRef blob, Path file) throws IOException {
      return repository.putBlob(blob, file);
    }

    @Override
    public byte[] createManifest(String app, String version, byte[] envelope) throws IOException {
      return repository.createManifest(app, version, envelope);
    }

    @Override
    public byte[] createReleaseSet(String name, String version, byte[] envelope) throws IOException {
      return repository.createReleaseSet(name, version, envelope);
    }

    @Override
    public boolean replacePointer(String app, String channel, Stored expected, long expectedSequence,
        byte[] envelope, long newSequence) throws IOException {
      before.run();
      return repository.replacePointer(app, channel, expected, expectedSequence, envelope, newSequence);
    }

    @Override
    public java.util.List<String> listFiles() throws IOException {
      return repository.listFiles();
    }

    @Override
    public void close() throws IOException {
      repository.close();
    }
  }
}
