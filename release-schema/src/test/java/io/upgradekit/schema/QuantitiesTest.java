package io.upgradekit.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class QuantitiesTest {
  @ParameterizedTest
  @CsvSource({
      "0, 0", "1048576, 1048576", "512B, 512", "512 b, 512",
      "512k, 524288", "512K, 524288", "64m, 67108864", "64M, 67108864", "4g, 4294967296", "1t, 1099511627776",
      "512KiB, 524288", "64MiB, 67108864", "64 mib, 67108864", "2GiB, 2147483648",
      "512KB, 512000", "64MB, 64000000", "64mb, 64000000", "2GB, 2000000000", "1TB, 1000000000000"})
  void sizes(String text, long bytes) {
    assertThat(Quantities.parseSize(text)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "-1", "1.5m", "64x", "64 MBs", "m", "1e3", "99999999999999999999",
      "9223372036854775807k", "0x10"})
  void notSizes(String text) {
    assertThatThrownBy(() -> Quantities.parseSize(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + text + "'");
  }

  @ParameterizedTest
  @CsvSource({"500ms, PT0.5S", "30s, PT30S", "5m, PT5M", "1h, PT1H", "1d, PT24H", "0s, PT0S", "2 m, PT2M"})
  void durations(String text, String iso) {
    assertThat(Quantities.parseDuration(text)).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "30", "-5s", "1.5s", "5min", "PT5S", "5 S", "99999999999999999999d"})
  void notDurations(String text) {
    assertThatThrownBy(() -> Quantities.parseDuration(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + text + "'");
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 1, 1000, 1024, 1536, 64L << 20, 4L << 30, 3L << 40})
  void formattedSizesParseBack(long bytes) {
    assertThat(Quantities.parseSize(Quantities.formatSize(bytes))).isEqualTo(bytes);
  }
}
