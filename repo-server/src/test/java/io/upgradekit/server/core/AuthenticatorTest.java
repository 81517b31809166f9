package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who a request's credentials name, and every way they are refused. */
class AuthenticatorTest {
  static final String TOKEN = "publisher-token-for-tests-0123456789";
  static final byte[] SECRET = "node-secret-for-tests-0123456789".getBytes(StandardCharsets.UTF_8);

  @TempDir Path root;
  @TempDir Path secrets;
  final AtomicLong nanos = new AtomicLong(1_000);

  Authenticator authenticator() {
    return new Authenticator(new PublisherToken(TOKEN.getBytes(StandardCharsets.UTF_8)),
        new NodeCredentials(() -> SECRET, NodeAccess.open(root, Duration.ZERO, nanos::get)));
  }

  static String basic(String node, String credential) {
    return "Basic " + Base64.getEncoder().encodeToString((node + ":" + credential).getBytes(StandardCharsets.UTF_8));
  }

  static String node(String id) {
    return basic(id, new NodeCredentials(SECRET).credentialFor(id));
  }

  static void refused(ThrowingCallable call, ErrorCode code, String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(code);
      assertThat(e.getMessage()).contains(message);
    });
  }

  @Test
  void thePublisherIsTheHolderOfTheToken() {
    Authenticator auth = authenticator();
    assertThat(auth.publisher("Bearer " + TOKEN)).isEqualTo(new Caller.Publisher());
    assertThat(auth.publisher("bearer  " + TOKEN + " ")).as("scheme in any case, spaces trimmed")
        .isEqualTo(new Caller.Publisher());
    refused(() -> auth.publisher("Bearer " + TOKEN + "x"), ErrorCode.AUTH_REQUIRED, "not valid");
    refused(() -> auth.publisher("Bearer " + TOKEN.substring(1)), ErrorCode.AUTH_REQUIRED, "not valid");
    refused(() -> auth.publisher(null), ErrorCode.AUTH_REQUIRED, "Bearer <token>");
    refused(() -> auth.publisher(node("web-01")), ErrorCode.AUTH_REQUIRED, "Bearer <token>");
    refused(() -> auth.publisher("Bearer"), ErrorCode.AUTH_REQUIRED, "Bearer <token>");
    refused(() -> new Authenticator(null, null).publisher("Bearer " + TOKEN), ErrorCode.ACCESS_DENIED,
        "--publish-token-file");
  }

  @Test
  void aNodeIsTheHolderOfItsCurrentCredential() {
    Authenticator auth = authenticator();
    assertThat(auth.node(node("web-01"))).isEqualTo(new Caller.Node("web-01"));
    refused(() -> auth.node(basic("web-01", new NodeCredentials(SECRET).credentialFor("web-02"))),
        ErrorCode.AUTH_REQUIRED, "'web-01' is not valid");
    refused(() -> auth.node(basic("web-01", "0".repeat(64))), ErrorCode.AUTH_REQUIRED, "not valid");
    refused(() -> auth.node(basic("../x", "0".repeat(64))), ErrorCode.AUTH_REQUIRED, "not valid");
    refused(() -> auth.node("Basic %%%not-base64"), ErrorCode.AUTH_REQUIRED, "not valid base64");
    refused(() -> auth.node("Basic " + Base64.getEncoder().encodeToString("web-01".getBytes(StandardCharsets.UTF_8))),
        ErrorCode.AUTH_REQUIRED, "not valid");
    refused(() -> auth.node(null), ErrorCode.AUTH_REQUIRED, "Basic base64(<node>:<credential>)");
    refused(() -> auth.node("Bearer " + TOKEN), ErrorCode.AUTH_REQUIRED, "Basic base64(<node>:<credential>)");
    refused(() -> new Authenticator(null, null).node(node("web-01")), ErrorCode.ACCESS_DENIED,
        "--node-secret-file");
  }

  @Test
  void aRevokedNodeIsToldSoAndAReadmittedOneOnlyWithItsNewCredential() throws Exception {
    Authenticator auth = authenticator();
    NodeAccess.revoke(root, "web-01", "stolen", Clock.systemUTC());
    refused(() -> auth.node(node("web-01")), ErrorCode.CREDENTIAL_REVOKED, "--readmit web-01");
    assertThat(auth.node(node("web-02"))).isEqualTo(new Caller.Node("web-02"));

    NodeAccess.readmit(root, "web-01", Clock.systemUTC());
    assertThat(auth.node(basic("web-01", new NodeCredentials(SECRET).credentialFor("web-01", 2))))
        .isEqualTo(new Caller.Node("web-01"));
    refused(() -> auth.node(node("web-01")), ErrorCode.CREDENTIAL_REVOKED, "revoked");
  }

  @Test
  void endpointsForEitherRoleTellThemApartByScheme() {
    Authenticator auth = authenticator();
    assertThat(auth.nodeOrPublisher("Bearer " + TOKEN)).isInstanceOf(Caller.Publisher.class);
    assertThat(auth.nodeOrPublisher(node("web-01"))).isEqualTo(new Caller.Node("web-01"));
    refused(() -> auth.nodeOrPublisher("Bearer wrong-token"), ErrorCode.AUTH_REQUIRED, "publisher token");
    refused(() -> auth.nodeOrPublisher(null), ErrorCode.AUTH_REQUIRED, "Basic");
    assertThat(auth.identify("Bearer " + TOKEN).role()).isEqualTo("publisher");
    assertThat(auth.identify(node("web-01")).role()).isEqualTo("node");
    refused(() -> auth.identify(null), ErrorCode.AUTH_REQUIRED, "'Authorization: Bearer <publisher token>' or");
  }

  /** As an operator should: a new file, then rename it over the old one. */
  static void replace(Path file, String content) throws Exception {
    Path next = Files.writeString(file.resolveSibling(file.getFileName() + ".new"), content);
    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void replacedSecretFilesAreReadAgainAndAnUnusableOneFailsClosed() throws Exception {
    Path tokenFile = Files.writeString(secrets.resolve("token"), TOKEN + "\n");
    Path secretFile = Files.write(secrets.resolve("node-secret"), SECRET);
    Authenticator auth = new Authenticator(
        new PublisherToken(WatchedSecret.open(tokenFile, "--publish-token-file", Duration.ZERO, nanos::get)),
        new NodeCredentials(WatchedSecret.open(secretFile, "--node-secret-file", Duration.ZERO, nanos::get),
            NodeAccess.open(root, Duration.ZERO, nanos::get)));
    assertThat(auth.identify("Bearer " + TOKEN)).isInstanceOf(Caller.Publisher.class);
    assertThat(auth.identify(node("web-01"))).isEqualTo(new Caller.Node("web-01"));

    replace(tokenFile, "the-rotated-publisher-token-0123456789\n");
    replace(secretFile, "the-rotated-node-secret-0123456789");
    nanos.addAndGet(1);
    refused(() -> auth.identify("Bearer " + TOKEN), ErrorCode.AUTH_REQUIRED, "not valid");
    assertThat(auth.identify("Bearer the-rotated-publisher-token-0123456789")).isInstanceOf(Caller.Publisher.class);
    refused(() -> auth.identify(node("web-01")), ErrorCode.AUTH_REQUIRED, "not valid");
    String rotated = new NodeCredentials("the-rotated-node-secret-0123456789".getBytes(StandardCharsets.UTF_8))
        .credentialFor("web-01");
    assertThat(auth.identify(basic("web-01", rotated))).isEqualTo(new Caller.Node("web-01"));

    replace(tokenFile, "short\n");
    nanos.addAndGet(1);
    refused(() -> auth.identify("Bearer the-rotated-publisher-token-0123456789"), ErrorCode.IO_ERROR,
        "--publish-token-file");
  }

  @Test
  void aNodeCallerIsAlwaysAValidNodeId() {
    assertThatThrownBy(() -> new Caller.Node("../x")).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
  }
}
