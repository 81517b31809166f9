package io.upgradekit.store.s3;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.store.BlobCheck;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.schema.store.StorePaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The repository in an S3-compatible object store (AWS S3, Ceph RGW, MinIO), under a key prefix of
 * one bucket, through the AWS SDK for Java v2 with its URL-connection HTTP client. Any number of
 * processes may share the store; see docs/object-storage.md.
 *
 * <ul>
 *   <li>{@link #putBlob}: the content is hashed while it streams into memory, one part at a time:
 *       a blob of up to {@link S3StoreConfig#partSize} bytes is checked, then stored with one
 *       plain {@code PUT}; a larger one is uploaded in parts and the upload completed only if the
 *       whole matches (aborted otherwise), so content that does not match never becomes visible.
 *   <li>{@link #create}: {@code PUT} with {@code If-None-Match: *}.
 *   <li>{@link #compareAndSwap}: {@code PUT} with {@code If-Match: "<etag>"} (or {@code
 *       If-None-Match: *} when the caller found no document). The sequence number is not needed.
 *   <li>Tags are the ETags, without their quotes.
 *   <li>{@link #read}: {@code GET}, abandoned as soon as the answer is known to be over the limit
 *       (by its length, or one byte past the limit).
 *   <li>{@link #list}: {@code ListObjectsV2}, page by page as the stream is consumed.
 *   <li>{@link #delete}: {@code HEAD}, then {@code DELETE} (S3 does not say whether a key existed).
 * </ul>
 *
 * <p><b>A conditional write that does not clearly win is settled by reading back.</b> Stores
 * answer a lost race with 412, sometimes with 409 (AWS, for concurrent conditional writes) or a
 * 5xx (Ceph RGW answers some losers with 500); a lost connection or a deadline leaves the outcome
 * open. In all these cases the store reads the document: if it holds this write's bytes, the
 * write won ({@link Status#WRITTEN}); if it holds anything else than what the write expected, it
 * lost ({@link Status#CONFLICT}); if it is still what the write expected, the write did not
 * happen, and it is tried again (the conditional header makes a late arrival of the earlier
 * attempt harmless), up to four attempts within the call deadline, after which the answer is
 * {@link Status#UNKNOWN}. Two writers of identical bytes may therefore both be told they won,
 * which is harmless: they wrote the same document. A store that refuses a quoted {@code If-Match}
 * whose ETag does match (Ceph RGW compares the bare ETag) is detected this way, and from then on
 * sent bare ETags.
 *
 * <p><b>Failures.</b> Each call to the store has a total deadline ({@link
 * S3StoreConfig#callTimeout}, the SDK's API call timeout, its standard retries included; the
 * conditional writes retry only as above). What the user must fix is an {@link
 * UpgradeException}: {@link ErrorCode#ACCESS_DENIED} when the store answers 403 (credentials or
 * policy), {@link ErrorCode#CONFIG_INVALID} for a missing bucket, a wrong region or no
 * credentials at all. Everything else (no answer in time, connection failures, 5xx) is an {@link
 * S3StoreException}.
 *
 * <p><b>Credentials</b> come only from the AWS SDK's default chain: the system properties {@code
 * aws.accessKeyId}/{@code aws.secretAccessKey}, the environment ({@code AWS_ACCESS_KEY_ID},
 * {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_SESSION_TOKEN}), web identity, the profile files
 * ({@code AWS_PROFILE}), the container's or the instance's role. Request checksums are computed
 * and response checksums validated only where the S3 API requires them, since stores other than
 * AWS refuse the SDK's default checksum headers and trailers.
 */
public final class S3Store implements RepositoryStore {
  /** The most parts S3 accepts in one multipart upload. */
  static final int MAX_PARTS = 10_000;
  /** How often a conditional write is tried before its outcome is reported unknown. */
  static final int CONDITIONAL_ATTEMPTS = 4;

  private final S3StoreConfig config;
  private final SdkHttpClient http;
  private final DefaultCredentialsProvider credentials;
  /** Reads, blobs, listings and deletes, with the SDK's standard retries. */
  private final S3Client client;
  /** Conditional writes, without the SDK's retries: each outcome is settled by reading back. */
  private final S3Client conditional;
  private final AtomicBoolean bareIfMatch = new AtomicBoolean();

  /**
   * Opens the store. Nothing is sent until the first call; a missing bucket or wrong credentials
   * show then.
   *
   * @throws UpgradeException {@link ErrorCode#CONFIG_INVALID} if no region is configured for AWS
   */
  public S3Store(S3StoreConfig config) {
    this(config, UrlConnectionHttpClient.builder()
        .connectionTimeout(min(config.callTimeout(), Duration.ofSeconds(5)))
        .socketTimeout(config.callTimeout())
        .build());
  }

  /** A store over the given HTTP client, which it closes (tests put a faulty one in between). */
  S3Store(S3StoreConfig config, SdkHttpClient http) {
    this.config = Objects.requireNonNull(config, "config");
    this.http = Objects.requireNonNull(http, "http");
    Region region = region(config);
    this.credentials = DefaultCredentialsProvider.builder().build();
    this.client = client(config, http, credentials, region, AwsRetryStrategy.standardRetryStrategy());
    this.conditional = client(config, http, credentials, region, AwsRetryStrategy.doNotRetry());
  }

  private static S3Client client(S3StoreConfig config, SdkHttpClient http, DefaultCredentialsProvider credentials,
      Region region, RetryStrategy retries) {
    var builder = S3Client.builder()
        .httpClient(http)
        .credentialsProvider(credentials)
        .region(region)
        .forcePathStyle(config.pathStyle())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .overrideConfiguration(o -> o.apiCallTimeout(config.callTimeout()).retryStrategy(retries));
    if (config.endpoint() != null) {
      builder.endpointOverride(config.endpoint());
    }
    return builder.build();
  }

  private static Region region(S3StoreConfig config) {
    if (config.region() != null) {
      return Region.of(config.region());
    }
    if (config.endpoint() != null) {
      return Region.US_EAST_1; // what S3-compatible stores sign with unless told otherwise
    }
    try {
      return DefaultAwsRegionProviderChain.builder().build().getRegion();
    } catch (SdkClientException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "no region for bucket " + config.bucket() + ": set"
          + " region in the store address (s3://" + config.bucket() + "/" + config.prefix() + "?region=eu-west-1),"
          + " or AWS_REGION", e);
    }
  }

  /** What this store was opened with. */
  public S3StoreConfig config() {
    return config;
  }

  @Override
  public String location() {
    return "s3://" + config.bucket() + "/" + config.prefix() + (config.endpoint() == null ? "" : " at "
        + config.endpoint());
  }

  @Override
  public Optional<Versioned> read(String path, int maxBytes) throws IOException {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("maxBytes " + maxBytes);
    }
    Fetched fetched = fetch(key(StorePaths.document(path)), maxBytes);
    if (fetched == null) {
      return Optional.empty();
    }
    if (fetched.bytes() == null) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, path + " in " + location() + " is more than "
          + maxBytes + " bytes, the limit for its type; replace it with a valid document");
    }
    return Optional.of(new Versioned(fetched.bytes(), fetched.tag()));
  }

  @Override
  public Optional<Entry> stat(String path) throws IOException {
    String key = key(StorePaths.document(path));
    try {
      HeadObjectResponse head = client.headObject(b -> b.bucket(config.bucket()).key(key));
      return Optional.of(new Entry(path, head.contentLength()));
    } catch (SdkException e) {
      if (notFound(e)) {
        return Optional.empty();
      }
      throw failure("look up", key, e);
    }
  }

  @Override
  public Optional<InputStream> open(String path) throws IOException {
    String key = key(StorePaths.document(path));
    try {
      return Optional.of(client.getObject(b -> b.bucket(config.bucket()).key(key)));
    } catch (SdkException e) {
      if (notFound(e)) {
        return Optional.empty();
      }
      throw failure("read", key, e);
    }
  }

  /** A {@code GET} with {@code Range: bytes=<offset>-}; past the end, an empty stream. */
  @Override
  public Optional<InputStream> open(String path, long offset) throws IOException {
    if (offset < 0) {
      throw new IllegalArgumentException("offset " + offset);
    }
    if (offset == 0) {
      return open(path);
    }
    String key = key(StorePaths.document(path));
    try {
      return Optional.of(client.getObject(b -> b.bucket(config.bucket()).key(key).range("bytes=" + offset + "-")));
    } catch (SdkException e) {
      if (notFound(e)) {
        return Optional.empty();
      }
      if (e instanceof S3Exception s3 && s3.statusCode() == 416) {
        return Optional.of(InputStream.nullInputStream()); // at or past the end: nothing left to read
      }
      throw failure("read", key, e);
    }
  }

  @Override
  public boolean putBlob(String sha256, long size, InputStream content) throws IOException {
    String path = StorePaths.blob(sha256);
    if (size < UNKNOWN_SIZE) {
      throw new IllegalArgumentException("size " + size);
    }
    String what = "the content sent for blob " + sha256;
    try {
      Optional<Entry> existing = stat(path);
      if (existing.isPresent() && (size == UNKNOWN_SIZE || existing.get().size() == size)) {
        BlobCheck.copy(content, sha256, size, OutputStream.nullOutputStream(), what);
        return false;
      }
      // Blobs are named by their checked content: a plain PUT over a damaged one is safe.
      try (BlobUpload upload = new BlobUpload(key(path))) {
        BlobCheck.copy(content, sha256, size, upload, what);
        upload.complete();
      }
      return true;
    } catch (UpgradeException e) {
      throw new UpgradeException(e.code(), e.getMessage() + "; nothing was stored", e);
    }
  }

  @Override
  public Write create(String path, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    return conditionalPut(key(StorePaths.document(path)), null, content);
  }

  @Override
  public Write compareAndSwap(String path, String expectedTag, long sequence, byte[] content) throws IOException {
    Objects.requireNonNull(content, "content");
    return conditionalPut(key(StorePaths.document(path)), expectedTag, content);
  }

  /** A {@code PUT} with {@code If-None-Match: *} (no expected tag) or {@code If-Match}, settled as the class says. */
  private Write conditionalPut(String key, String expectedTag, byte[] content) throws IOException {
    long deadline = System.nanoTime() + config.callTimeout().toNanos();
    for (int attempt = 1; ; attempt++) {
      boolean bare = bareIfMatch.get();
      int status;
      try {
        PutObjectResponse response = conditional.putObject(b -> {
          b.bucket(config.bucket()).key(key);
          if (expectedTag == null) {
            b.ifNoneMatch("*");
          } else {
            b.ifMatch(bare ? expectedTag : '"' + expectedTag + '"');
          }
        }, RequestBody.fromBytes(content));
        if (response.eTag() != null) {
          return Write.written(tag(response.eTag()));
        }
        status = 200; // written, the store says, but without the tag: read it back
      } catch (S3Exception e) {
        status = e.statusCode();
        if (status != 412 && status != 409 && status < 500) {
          throw failure("write", key, e);
        }
      } catch (SdkClientException e) {
        refuseMisconfiguration(key, e); // no answer or no connection: the outcome is open
        status = 0;
      }
      Fetched now = fetch(key, content.length);
      if (now != null && now.bytes() != null && Arrays.equals(now.bytes(), content)) {
        return Write.written(now.tag());
      }
      boolean asExpected = expectedTag == null ? now == null : now != null && now.tag().equals(expectedTag);
      if (!asExpected) {
        return Write.conflict();
      }
      // Still the document this write expected: it did not happen (or is late, and will then fail).
      if (status == 412 && expectedTag != null && !bare) {
        bareIfMatch.set(true); // the store compares If-Match with the bare ETag (Ceph RGW)
      }
      if (attempt >= CONDITIONAL_ATTEMPTS || System.nanoTime() - deadline > 0) {
        return Write.unknown();
      }
      pause(attempt);
    }
  }

  @Override
  public Stream<Entry> list(String prefix) throws IOException {
    StorePaths.prefix(prefix);
    Iterator<S3Object> objects = client.listObjectsV2Paginator(b -> b.bucket(config.bucket())
        .prefix(config.prefix() + prefix)).contents().iterator();
    Iterator<S3Object> checked = new Iterator<>() {
      @Override
      public boolean hasNext() {
        try {
          return objects.hasNext(); // fetches the next page when this one is used up
        } catch (SdkException e) {
          throw unchecked(prefix, e);
        }
      }

      @Override
      public S3Object next() {
        try {
          return objects.next();
        } catch (SdkException e) {
          throw unchecked(prefix, e);
        }
      }
    };
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(checked, Spliterator.NONNULL), false)
        .map(this::entry)
        .flatMap(Optional::stream);
  }

  private UncheckedIOException unchecked(String prefix, SdkException e) {
    return new UncheckedIOException(failure("list", config.prefix() + prefix + "*", e));
  }

  /** A listed object's entry; keys that are no repository path (hidden, directory markers) have none. */
  private Optional<Entry> entry(S3Object object) {
    String path = object.key().substring(config.prefix().length());
    try {
      StorePaths.document(path);
    } catch (UpgradeException e) {
      return Optional.empty();
    }
    return Optional.of(new Entry(path, object.size()));
  }

  @Override
  public boolean delete(String path) throws IOException {
    String key = key(StorePaths.document(path));
    if (stat(path).isEmpty()) {
      return false;
    }
    try {
      client.deleteObject(b -> b.bucket(config.bucket()).key(key));
      return true;
    } catch (SdkException e) {
      throw failure("delete", key, e);
    }
  }

  @Override
  public void close() {
    client.close();
    conditional.close();
    credentials.close();
    http.close();
  }

  @Override
  public String toString() {
    return "S3Store[" + location() + "]";
  }

  private String key(String path) {
    return config.prefix() + path;
  }

  /**
   * A document and its tag, or null if there is none; the bytes are null if there are more than
   * {@code cap}, and the answer is abandoned as soon as that is known.
   */
  private Fetched fetch(String key, int cap) throws IOException {
    ResponseInputStream<GetObjectResponse> in;
    try {
      in = client.getObject(b -> b.bucket(config.bucket()).key(key));
    } catch (SdkException e) {
      if (notFound(e)) {
        return null;
      }
      throw failure("read", key, e);
    }
    try (in) {
      GetObjectResponse response = in.response();
      if (response.eTag() == null) {
        throw new S3StoreException("the store answered " + key + " without an ETag: it cannot hold a repository",
            200, null, false, null);
      }
      String tag = tag(response.eTag());
      Long length = response.contentLength();
      byte[] bytes = length != null && length > cap ? null : in.readNBytes(cap == Integer.MAX_VALUE ? cap : cap + 1);
      if (bytes == null || bytes.length > cap) {
        in.abort(); // the rest is never read
        return new Fetched(null, tag);
      }
      return new Fetched(bytes, tag);
    } catch (SdkException e) {
      throw failure("read", key, e);
    }
  }

  private record Fetched(byte[] bytes, String tag) {}

  /** The tag of an ETag: without the quotes, which some stores do not accept back. */
  static String tag(String etag) {
    return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"") ? etag.substring(1, etag.length() - 1)
        : etag;
  }

  /** A 404 for a key; not for a missing bucket, which is a configuration error. */
  private static boolean notFound(SdkException e) {
    return e instanceof S3Exception s3 && s3.statusCode() == 404 && !"NoSuchBucket".equals(errorCode(s3));
  }

  private static String errorCode(S3Exception e) {
    return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
  }

  /**
   * The exception for a failed call: throws {@link UpgradeException} for what the user must fix,
   * returns an {@link S3StoreException} for the rest.
   */
  private S3StoreException failure(String operation, String key, SdkException e) {
    String where = "s3://" + config.bucket() + "/" + key + (config.endpoint() == null ? "" : " at " + config.endpoint());
    if (e instanceof S3Exception s3) {
      int status = s3.statusCode();
      String code = errorCode(s3);
      String answer = " (HTTP " + status + (code == null ? "" : " " + code)
          + (s3.requestId() == null ? "" : ", request " + s3.requestId()) + ")";
      if (status == 401 || status == 403) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "the store refused to " + operation + " " + where + answer
            + ": check the credentials that the AWS SDK's default chain finds (AWS_ACCESS_KEY_ID and"
            + " AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance's role) and that the bucket's policy lets them read,"
            + " write, list and delete " + (config.prefix().isEmpty() ? "in the bucket" : "under " + config.prefix()), e);
      }
      if ("NoSuchBucket".equals(code)) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "bucket " + config.bucket() + " does not exist"
            + (config.endpoint() == null ? "" : " at " + config.endpoint()) + answer + ": create it, or correct the"
            + " bucket in the store address", e);
      }
      if (status == 301 || "PermanentRedirect".equals(code) || "AuthorizationHeaderMalformed".equals(code)) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "bucket " + config.bucket() + " is not in region "
            + (config.region() == null ? "(the default chain's)" : config.region()) + answer + ": set the bucket's"
            + " region in the store address (?region=...)", e);
      }
      return new S3StoreException("cannot " + operation + " " + where + answer + "; retry later", status, code,
          false, e);
    }
    refuseMisconfiguration(key, e);
    if (e instanceof ApiCallTimeoutException || e instanceof ApiCallAttemptTimeoutException) {
      return new S3StoreException("cannot " + operation + " " + where + ": no answer within " + config.callTimeout()
          + " (callTimeout); retry later", 0, null, true, e);
    }
    return new S3StoreException("cannot " + operation + " " + where + ": " + e.getMessage(), 0, null, false, e);
  }

  /** Throws {@link ErrorCode#CONFIG_INVALID} when the SDK found no credentials at all. */
  private void refuseMisconfiguration(String key, SdkException e) {
    if (e.getMessage() != null && e.getMessage().contains("Unable to load credentials")) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "no credentials for s3://" + config.bucket() + "/" + key
          + ": the AWS SDK's default chain found none; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
          + " (never on a command line or in a pom)", e);
    }
  }

  private void pause(int attempt) throws InterruptedIOException {
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(5, 20) * attempt); // spread the next attempts of racers
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing to " + location());
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /**
   * The upload of one blob: bytes collect in memory up to one part; the first full part that
   * more bytes follow starts a multipart upload. {@link #complete} stores what was written (one
   * {@code PUT}, or the last part and the completion); closing without completing aborts the
   * upload, so nothing becomes visible.
   */
  private final class BlobUpload extends OutputStream {
    private final String key;
    private final ByteArrayOutputStream part = new ByteArrayOutputStream();
    private final List<CompletedPart> parts = new ArrayList<>();
    private String uploadId;
    private boolean completed;

    BlobUpload(String key) {
      this.key = key;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      while (length > 0) {
        if (part.size() == config.partSize()) {
          uploadPart(); // a full part, and more follows
        }
        int n = Math.min(length, config.partSize() - part.size());
        part.write(bytes, offset, n);
        offset += n;
        length -= n;
      }
    }

    private void uploadPart() throws IOException {
      int number = parts.size() + 1;
      if (number > MAX_PARTS) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, "blob " + key + " is larger than " + MAX_PARTS
            + " parts of " + config.partSize() + " bytes: raise partSize in the store address");
      }
      try {
        if (uploadId == null) {
          uploadId = client.createMultipartUpload(b -> b.bucket(config.bucket()).key(key)).uploadId();
        }
        byte[] bytes = part.toByteArray();
        part.reset();
        String etag = client.uploadPart(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId).partNumber(number),
            RequestBody.fromBytes(bytes)).eTag();
        parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
      } catch (SdkException e) {
        throw failure("upload part " + number + " of", key, e);
      }
    }

    void complete() throws IOException {
      if (uploadId == null) {
        try {
          client.putObject(b -> b.bucket(config.bucket()).key(key), RequestBody.fromBytes(part.toByteArray()));
        } catch (SdkException e) {
          throw failure("write", key, e);
        }
      } else {
        uploadPart();
        try {
          client.completeMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId)
              .multipartUpload(m -> m.parts(parts)));
        } catch (SdkException e) {
          throw failure("complete the upload of", key, e);
        }
      }
      completed = true;
    }

    /** Aborts an upload that was not completed; a failure to abort is added to the one that ended it. */
    @Override
    public void close() throws IOException {
      if (completed || uploadId == null) {
        return;
      }
      try {
        client.abortMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId));
      } catch (SdkException e) {
        // Invisible either way; the bucket's lifecycle rule for incomplete uploads removes the parts.
        throw failure("abort the upload of", key, e);
      }
    }
  }
}
