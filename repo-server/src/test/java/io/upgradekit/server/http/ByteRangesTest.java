package io.upgradekit.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ByteRangesTest {
  @Test
  void parsesOneRange() {
    assertThat(ByteRanges.parse("bytes=0-9", 100)).containsExactly(0, 9);
    assertThat(ByteRanges.parse("bytes=90-", 100)).containsExactly(90, 99);
    assertThat(ByteRanges.parse("bytes=90-1000", 100)).containsExactly(90, 99);
    assertThat(ByteRanges.parse("bytes=-10", 100)).containsExactly(90, 99);
    assertThat(ByteRanges.parse("bytes=-1000", 100)).containsExactly(0, 99);
    assertThat(ByteRanges.parse("BYTES = 5-5", 100)).isNull();
    assertThat(ByteRanges.parse("Bytes=5-5", 100)).containsExactly(5, 5);
  }

  @Test
  void unsatisfiableAndIgnoredRanges() {
    assertThat(ByteRanges.parse("bytes=100-", 100)).isSameAs(ByteRanges.UNSATISFIABLE);
    assertThat(ByteRanges.parse("bytes=-0", 100)).isSameAs(ByteRanges.UNSATISFIABLE);
    assertThat(ByteRanges.parse("bytes=0-0", 0)).isSameAs(ByteRanges.UNSATISFIABLE);
    for (String ignored : new String[] {"items=0-1", "bytes=0-1,3-4", "bytes=5-1", "bytes=a-b", "bytes=-",
        "bytes=99999999999999999999-", "bytes=1"}) {
      assertThat(ByteRanges.parse(ignored, 100)).as(ignored).isNull();
    }
  }

  @Test
  void onlyUsablePathsAreServed() {
    assertThat(StaticFiles.relative("/apps/a/channels/stable.json")).isEqualTo("apps/a/channels/stable.json");
    for (String refused : new String[] {"/", "", "/a/", "/a//b", "/.git/config", "/a/.x", "/claims/a/b",
        "/feedback/x", "/a/b~", "/a/b.tmp", "/a\\b", "/a/\u0000", "/" + "x".repeat(300)}) {
      assertThat(StaticFiles.relative(refused)).as(refused).isNull();
    }
  }
}
