package io.upgradekit.schema.delta.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SuffixArrayTest {
  private static int[] naive(byte[] text) {
    return IntStream.range(0, text.length)
        .boxed()
        .sorted((a, b) -> Arrays.compareUnsigned(text, a, text.length, text, b, text.length))
        .mapToInt(Integer::intValue)
        .toArray();
  }

  @Test
  void matchesNaiveSortOnRandomTextsOverSmallAndFullAlphabets() {
    Random random = new Random(42);
    for (int i = 0; i < 6_000; i++) {
      int n = random.nextInt(i < 3_000 ? 16 : 200);
      int alphabet = 1 + random.nextInt(i % 3 == 0 ? 3 : 256);
      byte[] text = new byte[n];
      for (int j = 0; j < n; j++) {
        text[j] = (byte) (random.nextInt(alphabet) - 128); // exercises unsigned order
      }
      if (i % 4 == 0 && n > 4) {
        int p = random.nextInt(n / 2);
        System.arraycopy(text, 0, text, p, n - p); // repeats force several reduction levels
      }
      assertThat(SuffixArray.build(text)).as("text %s", Arrays.toString(text)).isEqualTo(naive(text));
    }
  }

  @Test
  void sortsDegenerateTexts() {
    assertThat(SuffixArray.build(new byte[0])).isEmpty();
    assertThat(SuffixArray.build(new byte[] {7})).containsExactly(0);
    byte[] zeros = new byte[10_000];
    int[] expected = IntStream.range(0, zeros.length).map(i -> zeros.length - 1 - i).toArray();
    assertThat(SuffixArray.build(zeros)).isEqualTo(expected);
    byte[] periodic = new byte[30_000];
    for (int i = 0; i < periodic.length; i++) {
      periodic[i] = (byte) "abcabcabd".charAt(i % 9);
    }
    assertSorted(periodic, SuffixArray.build(periodic));
  }

  @Test
  void sortsAMegabyteOfStructuredData() {
    byte[] text = TestData.structured(3, 1 << 20);
    assertSorted(text, SuffixArray.build(text));
  }

  private static void assertSorted(byte[] text, int[] sa) {
    assertThat(sa).hasSize(text.length);
    boolean[] seen = new boolean[text.length];
    for (int i = 0; i < sa.length; i++) {
      assertThat(seen[sa[i]]).as("position %d twice", sa[i]).isFalse();
      seen[sa[i]] = true;
      if (i > 0) {
        assertThat(Arrays.compareUnsigned(text, sa[i - 1], text.length, text, sa[i], text.length))
            .as("order at %d", i)
            .isNegative();
      }
    }
  }
}
