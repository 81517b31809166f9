package io.upgradekit.store.s3;

import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * s3proxy (Maven Central's self-contained jar, copied by the build to {@code target/s3proxy}) on
 * 127.0.0.1 with an ephemeral port and its in-memory backend, checking AWS signatures with the
 * given keys. It runs in this JVM in a class loader of its own, so none of its many libraries
 * meets the test's, and is driven by reflection for the same reason.
 *
 * <p>Public in the test-jar for the programs' tests that publish into and serve from a bucket (the
 * plugin, repo-server, the end-to-end tests): their builds copy the jar the same way and pass its
 * path as the system property {@code s3proxy.jar}.
 */
public final class S3ProxyServer implements AutoCloseable {
  private final URLClassLoader loader;
  private final Object proxy;
  private final URI endpoint;

  private S3ProxyServer(URLClassLoader loader, Object proxy, URI endpoint) {
    this.loader = loader;
    this.proxy = proxy;
    this.endpoint = endpoint;
  }

  /**
   * Starts s3proxy checking signatures made with this access key and secret.
   *
   * @throws IllegalStateException if the jar is missing or s3proxy does not start within 30 s
   */
  public static S3ProxyServer start(String identity, String credential) throws Exception {
    Path jar = Path.of(System.getProperty("s3proxy.jar", "target/s3proxy/s3proxy.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: run the tests through Maven, which copies it there");
    }
    Properties properties = new Properties();
    properties.setProperty("s3proxy.endpoint", "http://127.0.0.1:0");
    properties.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    properties.setProperty("s3proxy.identity", identity);
    properties.setProperty("s3proxy.credential", credential);
    properties.setProperty("jclouds.provider", "transient");
    properties.setProperty("jclouds.identity", identity);
    properties.setProperty("jclouds.credential", credential);
    // s3proxy logs through its own logback at INFO: keep the test output to what matters.
    System.setProperty("LOG_LEVEL", "warn");
    System.setProperty("JETTY_LOG_LEVEL", "warn");
    System.setProperty("logback.statusListenerClass", "ch.qos.logback.core.status.NopStatusListener");
    URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(loader); // its service lookups use the context loader
    try {
      Class<?> blobStoreType = loader.loadClass("org.gaul.s3proxy.blobstore.BlobStore");
      Object blobStore = loader.loadClass("org.gaul.s3proxy.BlobStores").getMethod("create", String.class,
          Properties.class).invoke(null, "transient", properties);
      Class<?> builderType = loader.loadClass("org.gaul.s3proxy.S3Proxy$Builder");
      Object builder = builderType.getMethod("fromProperties", Properties.class).invoke(null, properties);
      builder = builderType.getMethod("blobStore", blobStoreType).invoke(builder, blobStore);
      Object proxy = builderType.getMethod("build").invoke(builder);
      proxy.getClass().getMethod("start").invoke(proxy);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!"STARTED".equals(proxy.getClass().getMethod("getState").invoke(proxy))) {
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("s3proxy did not start within 30 s");
        }
        Thread.sleep(10);
      }
      int port = (int) proxy.getClass().getMethod("getPort").invoke(proxy);
      return new S3ProxyServer(loader, proxy, URI.create("http://127.0.0.1:" + port));
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  /** {@code http://127.0.0.1:<port>}. */
  public URI endpoint() {
    return endpoint;
  }

  /** Creates a bucket (an S3 client with the given keys; a bucket that is there already is fine). */
  public void createBucket(String bucket, String identity, String credential) {
    try (S3Client client = S3Client.builder()
        .endpointOverride(endpoint)
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(identity, credential)))
        .httpClient(UrlConnectionHttpClient.create())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .build()) {
      client.createBucket(b -> b.bucket(bucket));
    } catch (S3Exception e) {
      if (e.statusCode() != 409) { // there already: BucketAlreadyOwnedByYou
        throw e;
      }
    }
  }

  /** Stops s3proxy; everything it held is gone (its backend is in memory). */
  @Override
  public void close() throws Exception {
    try {
      proxy.getClass().getMethod("stop").invoke(proxy);
    } finally {
      loader.close();
    }
  }
}
