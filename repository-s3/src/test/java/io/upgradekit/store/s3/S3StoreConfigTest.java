package io.upgradekit.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The store's address: what users write after --store or in <repository>. */
class S3StoreConfigTest {
  @Test
  void anAddressNamesTheBucketThePrefixAndTheOptions() {
    S3StoreConfig config = S3StoreConfig.parse(
        "s3://releases.example/fleet/repo?endpoint=http://127.0.0.1:7480&region=eu-west-1&pathStyle=true"
            + "&callTimeout=PT5S&partSize=16777216");

    assertThat(config).isEqualTo(new S3StoreConfig("releases.example", "fleet/repo/",
        URI.create("http://127.0.0.1:7480"), "eu-west-1", true, Duration.ofSeconds(5), 16 << 20));
    assertThat(S3StoreConfig.parse(config.toUri())).isEqualTo(config);
  }

  @Test
  void aBareBucketHasTheDefaults() {
    S3StoreConfig config = S3StoreConfig.parse("s3://releases");

    assertThat(config).isEqualTo(new S3StoreConfig("releases", "", null, null, false,
        S3StoreConfig.DEFAULT_CALL_TIMEOUT, S3StoreConfig.DEFAULT_PART_SIZE));
    assertThat(config.toUri()).isEqualTo("s3://releases/");
    assertThat(S3StoreConfig.parse("s3://releases/repo/").prefix()).isEqualTo("repo/");
    assertThat(S3StoreConfig.parse("s3://releases/a/b?endpoint=http%3A%2F%2Fminio%3A9000").endpoint())
        .isEqualTo(URI.create("http://minio:9000"));
  }

  @Test
  void whatCannotWorkIsRefusedWithTheFix() {
    assertRefused("/work/repo", "s3://<bucket>/<prefix>");
    assertRefused("https://bucket/repo", "s3://<bucket>/<prefix>");
    assertRefused("s3://Bucket_Upper/repo", "not a valid S3 bucket name");
    assertRefused("s3://ab/repo", "not a valid S3 bucket name");
    assertRefused("s3://key:secret@bucket/repo", "credentials come only from the AWS SDK's default chain");
    assertRefused("s3://bucket/repo?endpoint=http://key:secret@host:9000", "default chain");
    assertRefused("s3://bucket/repo/../other", "not a valid key prefix");
    assertRefused("s3://bucket/repo//x", "not a valid key prefix");
    assertRefused("s3://bucket/.hidden/repo", "starting with '.'");
    assertRefused("s3://bucket/repo?endpoint=ftp://host", "http:// or https://");
    assertRefused("s3://bucket/repo?region=EU West", "not a URI");
    assertRefused("s3://bucket/repo?region=EU_West", "not a region name");
    assertRefused("s3://bucket/repo?pathStyle=yes", "not true or false");
    assertRefused("s3://bucket/repo?callTimeout=30", "ISO-8601");
    assertRefused("s3://bucket/repo?callTimeout=PT0S", "must be positive");
    assertRefused("s3://bucket/repo?partSize=1024", "S3 refuses parts under 5 MiB");
    assertRefused("s3://bucket/repo?partSize=lots", "not a number of bytes");
    assertRefused("s3://bucket/repo?colour=x", "unknown: use endpoint, region, pathStyle, callTimeout or partSize");
    assertRefused("s3://bucket/repo?region=a&region=b", "given twice");
    assertRefused("s3://bucket/repo?region", "not name=value");
  }

  private static void assertRefused(String address, String message) {
    assertThatThrownBy(() -> S3StoreConfig.parse(address)).as(address)
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
          assertThat(e.getMessage()).contains(message).doesNotContain("secret");
        });
  }

  @Test
  void awsWithoutARegionAnywhereIsAConfigurationError() {
    // Only meaningful where neither AWS_REGION nor a profile names one, as on a build machine.
    if (System.getenv("AWS_REGION") == null && System.getenv("AWS_DEFAULT_REGION") == null
        && System.getProperty("aws.region") == null && System.getenv("AWS_PROFILE") == null
        && !java.nio.file.Files.exists(java.nio.file.Path.of(System.getProperty("user.home"), ".aws"))) {
      System.setProperty("aws.disableEc2Metadata", "true");
      try {
        assertThatThrownBy(() -> new S3Store(S3StoreConfig.of("releases", "repo/")))
            .isInstanceOfSatisfying(UpgradeException.class, e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
              assertThat(e.getMessage()).contains("no region for bucket releases", "AWS_REGION");
            });
      } finally {
        System.clearProperty("aws.disableEc2Metadata");
      }
    } else {
      try (S3Store store = new S3Store(S3StoreConfig.of("releases", "repo/"))) {
        assertThat(store.location()).isEqualTo("s3://releases/repo/");
      }
    }
  }
}
