package io.upgradekit.store.s3;

import java.net.URI;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The S3-compatible server the tests run against, once per test JVM: s3proxy, started here,
 * unless {@code -Dupgradekit.s3.endpoint=<url>} names a running server (bench/s3-rgw.sh starts a
 * Ceph RGW and passes it). Credentials come from the AWS SDK's default chain, as in production:
 * when neither the environment nor the system properties hold keys, fixed test keys are set as
 * the system properties {@code aws.accessKeyId}/{@code aws.secretAccessKey}, which s3proxy is
 * started with (the race workers, separate JVMs, do the same through {@link #useTestKeys}).
 */
final class TestServer {
  static final String BUCKET = System.getProperty("upgradekit.s3.bucket", "upgradekit-test");
  private static final String EXTERNAL = System.getProperty("upgradekit.s3.endpoint");

  private static URI endpoint;
  private static S3ProxyServer proxy;

  private TestServer() {}

  /** Sets the test keys as system properties, unless the environment or the properties hold keys. */
  static void useTestKeys() {
    if (System.getenv("AWS_ACCESS_KEY_ID") == null && System.getProperty("aws.accessKeyId") == null) {
      System.setProperty("aws.accessKeyId", "upgradekit-test");
      System.setProperty("aws.secretAccessKey", "upgradekit-test-secret");
    }
  }

  static String accessKey() {
    return System.getProperty("aws.accessKeyId", System.getenv("AWS_ACCESS_KEY_ID"));
  }

  static String secretKey() {
    return System.getProperty("aws.secretAccessKey", System.getenv("AWS_SECRET_ACCESS_KEY"));
  }

  /** True when the server is one that evaluates If-Match atomically with the write (not s3proxy). */
  static boolean holdsIfMatch() {
    return Boolean.getBoolean("upgradekit.s3.holdsIfMatch");
  }

  /** What the server is, for messages. */
  static String name() {
    return EXTERNAL == null ? "s3proxy" : EXTERNAL;
  }

  /** The server's endpoint, with the test bucket in it, started on first use. */
  static synchronized URI endpoint() throws Exception {
    if (endpoint == null) {
      useTestKeys();
      if (EXTERNAL != null) {
        endpoint = URI.create(EXTERNAL);
      } else {
        proxy = S3ProxyServer.start(accessKey(), secretKey());
        endpoint = proxy.endpoint();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            proxy.close();
          } catch (Exception e) {
            // the JVM ends anyway
          }
        }));
      }
      try (S3Client client = rawClient()) {
        client.createBucket(b -> b.bucket(BUCKET));
      } catch (S3Exception e) {
        if (e.statusCode() != 409) { // there already: BucketAlreadyOwnedByYou
          throw e;
        }
      }
    }
    return endpoint;
  }

  /** The configuration of a store under its own prefix in the test bucket. */
  static S3StoreConfig config(String prefix) throws Exception {
    return S3StoreConfig.of(BUCKET, prefix).withEndpoint(endpoint(), true).withRegion("us-east-1");
  }

  /** An SDK client beside the store, to look at what the store did. */
  static S3Client rawClient() throws Exception {
    return S3Client.builder()
        .endpointOverride(endpoint())
        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .forcePathStyle(true)
        .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
        .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }
}
