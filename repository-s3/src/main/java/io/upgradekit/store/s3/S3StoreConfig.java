package io.upgradekit.store.s3;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.Names;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where an {@link S3Store} keeps the repository, and how it talks to the store. Never holds
 * credentials: those come from the AWS SDK's default chain (see {@link S3Store}).
 *
 * <p>As text (the form programs accept, e.g. {@code --store} and {@code <repository>}):
 * {@code s3://<bucket>[/<prefix>][?endpoint=<url>&region=<name>&pathStyle=true&callTimeout=PT30S&partSize=8388608]},
 * see {@link #parse} and docs/object-storage.md.
 *
 * @param bucket the bucket, which must exist (the store never creates one)
 * @param prefix the key prefix the repository lives under: "" for the whole bucket, else
 *     '/'-separated segments ending with '/', e.g. {@code repo/}
 * @param endpoint the S3 endpoint, e.g. {@code http://127.0.0.1:7480} for a Ceph RGW; null for
 *     AWS (the region's endpoint)
 * @param region the signing region; null for the SDK's default region chain ({@code AWS_REGION},
 *     the profile), which falls back to {@code us-east-1} when an endpoint is given
 * @param pathStyle true for {@code <endpoint>/<bucket>/<key>} addresses (most non-AWS stores),
 *     false for {@code <bucket>.<endpoint>/<key>}
 * @param callTimeout the total deadline of each call to the store, retries included
 * @param partSize the size of a multipart upload's parts; blobs larger than this are uploaded in
 *     parts, smaller ones with one {@code PUT}
 */
public record S3StoreConfig(String bucket, String prefix, URI endpoint, String region, boolean pathStyle,
    Duration callTimeout, int partSize) {
  /** The default of {@link #callTimeout}. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);
  /** The default of {@link #partSize}: 8 MiB. */
  public static final int DEFAULT_PART_SIZE = 8 << 20;
  /** The smallest part S3 accepts (every part but the last). */
  public static final int MIN_PART_SIZE = 5 << 20;
  /** The largest part this store buffers in memory. */
  public static final int MAX_PART_SIZE = 512 << 20;

  // S3's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens.
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

  public S3StoreConfig {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(callTimeout, "callTimeout");
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw invalid("bucket " + Names.quote(bucket) + " is not a valid S3 bucket name (3 to 63 lowercase letters,"
          + " digits, dots and hyphens)");
    }
    if (!prefix.isEmpty()) {
      if (!prefix.endsWith("/")) {
        prefix = prefix + "/";
      }
      try {
        RepositoryLayout.requireRelative(prefix.substring(0, prefix.length() - 1));
      } catch (UpgradeException e) {
        throw invalid("prefix " + Names.quote(prefix) + " is not a valid key prefix: use '/'-separated names"
            + " without empty, '.' or '..' segments, e.g. 'repo/'");
      }
      if (RepositoryLayout.isHidden(prefix)) {
        throw invalid("prefix " + Names.quote(prefix) + " has a segment starting with '.': those are never served;"
            + " choose another prefix");
      }
    }
    if (endpoint != null) {
      String scheme = endpoint.getScheme();
      if (!("http".equals(scheme) || "https".equals(scheme)) || endpoint.getHost() == null) {
        throw invalid("endpoint " + Names.quote(endpoint.toString()) + " is not an http:// or https:// URL with a"
            + " host, e.g. http://127.0.0.1:7480");
      }
      if (endpoint.getRawUserInfo() != null || endpoint.getRawQuery() != null) {
        throw invalid("endpoint " + Names.quote(endpoint.getHost()) + " carries user information or a query:"
            + " credentials come only from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and"
            + " AWS_SECRET_ACCESS_KEY, or a profile), never from the store's address");
      }
    }
    if (region != null && !region.matches("[a-z0-9-]{1,64}")) {
      throw invalid("region " + Names.quote(region) + " is not a region name, e.g. us-east-1");
    }
    if (callTimeout.isNegative() || callTimeout.isZero()) {
      throw invalid("callTimeout " + callTimeout + " must be positive, e.g. PT30S");
    }
    if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw invalid("partSize " + partSize + " is outside " + MIN_PART_SIZE + ".." + MAX_PART_SIZE + " bytes (S3 refuses"
          + " parts under 5 MiB; the store holds one part in memory)");
    }
  }

  /** A store in a bucket of AWS S3 under a prefix, with the defaults. */
  public static S3StoreConfig of(String bucket, String prefix) {
    return new S3StoreConfig(bucket, prefix, null, null, false, DEFAULT_CALL_TIMEOUT, DEFAULT_PART_SIZE);
  }

  /** This configuration with another endpoint and path style (for non-AWS stores). */
  public S3StoreConfig withEndpoint(URI endpoint, boolean pathStyle) {
    return new S3StoreConfig(bucket, prefix, endpoint, region, pathStyle, callTimeout, partSize);
  }

  /** This configuration with another region. */
  public S3StoreConfig withRegion(String region) {
    return new S3StoreConfig(bucket, prefix, endpoint, region, pathStyle, callTimeout, partSize);
  }

  /** This configuration with another call deadline. */
  public S3StoreConfig withCallTimeout(Duration callTimeout) {
    return new S3StoreConfig(bucket, prefix, endpoint, region, pathStyle, callTimeout, partSize);
  }

  /** This configuration with another part size. */
  public S3StoreConfig withPartSize(int partSize) {
    return new S3StoreConfig(bucket, prefix, endpoint, region, pathStyle, callTimeout, partSize);
  }

  /**
   * Reads the text form: {@code s3://<bucket>[/<prefix>]}, optionally followed by a query with
   * {@code endpoint}, {@code region}, {@code pathStyle} ({@code true}/{@code false}), {@code
   * callTimeout} (ISO-8601, e.g. {@code PT30S}) and {@code partSize} (bytes). Values may be
   * percent-encoded.
   *
   * @throws UpgradeException {@link ErrorCode#CONFIG_INVALID} for anything else
   */
  public static S3StoreConfig parse(String text) {
    Objects.requireNonNull(text, "text");
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw invalid("store address " + Names.quote(text) + " is not a URI: write s3://<bucket>/<prefix>");
    }
    if (!"s3".equals(uri.getScheme()) || uri.getRawAuthority() == null || uri.getRawFragment() != null) {
      throw invalid("store address " + Names.quote(text) + " is not an s3://<bucket>/<prefix> address");
    }
    if (uri.getRawUserInfo() != null) {
      throw invalid("store address " + Names.quote(uri.getHost() == null ? "" : uri.getHost()) + " carries user"
          + " information: credentials come only from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and"
          + " AWS_SECRET_ACCESS_KEY, or a profile)");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    S3StoreConfig config = of(uri.getRawAuthority(), path.startsWith("/") ? path.substring(1) : path);
    for (Map.Entry<String, String> option : query(uri.getRawQuery()).entrySet()) {
      String value = option.getValue();
      config = switch (option.getKey()) {
        case "endpoint" -> config.withEndpoint(endpoint(value), config.pathStyle());
        case "region" -> config.withRegion(value);
        case "pathStyle" -> config.withEndpoint(config.endpoint(), bool("pathStyle", value));
        case "callTimeout" -> config.withCallTimeout(duration(value));
        case "partSize" -> config.withPartSize(integer("partSize", value));
        default -> throw invalid("store option " + Names.quote(option.getKey()) + " is unknown: use endpoint, region,"
            + " pathStyle, callTimeout or partSize");
      };
    }
    return config;
  }

  /** The text form, which {@link #parse} reads back to an equal configuration. */
  public String toUri() {
    StringBuilder out = new StringBuilder("s3://").append(bucket).append('/').append(prefix);
    char separator = '?';
    if (endpoint != null) {
      out.append(separator).append("endpoint=").append(endpoint);
      separator = '&';
    }
    if (region != null) {
      out.append(separator).append("region=").append(region);
      separator = '&';
    }
    if (pathStyle) {
      out.append(separator).append("pathStyle=true");
      separator = '&';
    }
    if (!callTimeout.equals(DEFAULT_CALL_TIMEOUT)) {
      out.append(separator).append("callTimeout=").append(callTimeout);
      separator = '&';
    }
    if (partSize != DEFAULT_PART_SIZE) {
      out.append(separator).append("partSize=").append(partSize);
    }
    return out.toString();
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> options = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return options;
    }
    for (String pair : raw.split("&")) {
      int equals = pair.indexOf('=');
      if (equals <= 0) {
        throw invalid("store option " + Names.quote(pair) + " is not name=value");
      }
      String name = decode(pair.substring(0, equals));
      if (options.put(name, decode(pair.substring(equals + 1))) != null) {
        throw invalid("store option " + Names.quote(name) + " is given twice");
      }
    }
    return options;
  }

  private static String decode(String value) {
    try {
      return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw invalid("store option " + Names.quote(value) + " has a malformed %-escape");
    }
  }

  private static URI endpoint(String value) {
    try {
      return new URI(value);
    } catch (URISyntaxException e) {
      throw invalid("endpoint " + Names.quote(value) + " is not a URL, e.g. http://127.0.0.1:7480");
    }
  }

  private static boolean bool(String name, String value) {
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default -> throw invalid(name + " " + Names.quote(value) + " is not true or false");
    };
  }

  private static Duration duration(String value) {
    try {
      return Duration.parse(value);
    } catch (DateTimeParseException e) {
      throw invalid("callTimeout " + Names.quote(value) + " is not an ISO-8601 duration, e.g. PT30S");
    }
  }

  private static int integer(String name, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw invalid(name + " " + Names.quote(value) + " is not a number of bytes");
    }
  }

  private static UpgradeException invalid(String message) {
    return new UpgradeException(ErrorCode.CONFIG_INVALID, message);
  }
}
