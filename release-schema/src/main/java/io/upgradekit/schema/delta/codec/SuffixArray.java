package io.upgradekit.schema.delta.codec;

/**
 * Suffix array construction by induced sorting (SA-IS, Nong, Zhang and Chan 2009): linear time,
 * and besides the result only a bit per byte and one bucket array.
 *
 * <p>SA-IS is recursive by nature: it sorts a reduced string of at most half the length and induces
 * the full order from it. Here the recursion is unrolled into two loops over levels (descend, then
 * ascend), so the call stack stays flat whatever the input. That works without per-level state
 * because every level keeps its text inside the parent's part of the result array: level L sorts
 * into {@code sa[0, n_L)} and reads its text from {@code sa[n_{L-1} - n_L, n_{L-1})}, two ranges
 * that never overlap since {@code n_L <= n_{L-1} / 2}. Types and buckets are recomputed on the way
 * up instead of being kept, which is cheap (linear) and keeps memory at one level's worth.
 *
 * <p>The end of the text acts as a virtual sentinel smaller than every symbol, so the result holds
 * the n non-empty suffixes only.
 */
final class SuffixArray {
  private SuffixArray() {}

  /** Returns the start positions of the suffixes of {@code text} in lexicographic order (unsigned). */
  static int[] build(byte[] text) {
    int n = text.length;
    int[] sa = new int[n];
    if (n == 1) {
      sa[0] = 0;
    } else if (n > 1) {
      sort(text, sa, n);
    }
    return sa;
  }

  /**
   * One level of the reduction: its text is either the input bytes or, for reduced strings, a
   * range of the result array.
   */
  private static final class Level {
    final byte[] bytes; // level 0 text, null above
    final int[] sa;
    final int textOff; // where a reduced text lives in sa; unused at level 0
    final int n;
    final int k; // alphabet size
    final long[] sType; // bit i set: suffix i is S-type

    Level(byte[] bytes, int[] sa, int textOff, int n, int k, long[] sType) {
      this.bytes = bytes;
      this.sa = sa;
      this.textOff = textOff;
      this.n = n;
      this.k = k;
      this.sType = sType;
      computeTypes();
    }

    int chr(int i) {
      return bytes != null ? bytes[i] & 0xff : sa[textOff + i];
    }

    boolean isS(int i) {
      return (sType[i >>> 6] & (1L << i)) != 0;
    }

    boolean isLms(int i) {
      return i > 0 && isS(i) && !isS(i - 1);
    }

    private void computeTypes() {
      int words = (n + 63) >>> 6;
      java.util.Arrays.fill(sType, 0, words, 0L);
      // The last suffix is L-type: it is followed by the sentinel, which is smaller than anything.
      boolean nextS = false;
      int next = chr(n - 1);
      for (int i = n - 2; i >= 0; i--) {
        int c = chr(i);
        boolean s = c < next || (c == next && nextS);
        if (s) {
          sType[i >>> 6] |= 1L << i;
        }
        nextS = s;
        next = c;
      }
    }

    /** Fills bkt with each symbol's bucket start (end == false) or end (end == true, exclusive). */
    void buckets(int[] bkt, boolean end) {
      java.util.Arrays.fill(bkt, 0, k, 0);
      for (int i = 0; i < n; i++) {
        bkt[chr(i)]++;
      }
      int sum = 0;
      for (int c = 0; c < k; c++) {
        sum += bkt[c];
        bkt[c] = end ? sum : sum - bkt[c];
      }
    }

    void induce(int[] bkt) {
      buckets(bkt, false);
      // The sentinel suffix comes first; the L-type suffix before it is therefore first of its bucket.
      sa[bkt[chr(n - 1)]++] = n - 1;
      for (int i = 0; i < n; i++) {
        int j = sa[i] - 1;
        if (j >= 0 && !isS(j)) {
          sa[bkt[chr(j)]++] = j;
        }
      }
      buckets(bkt, true);
      for (int i = n - 1; i >= 0; i--) {
        int j = sa[i] - 1;
        if (j >= 0 && isS(j)) {
          sa[--bkt[chr(j)]] = j;
        }
      }
    }

    /**
     * Sorts the LMS substrings, names them and leaves the reduced string (names in text order) in
     * {@code sa[n - n1, n)}. Returns {@code n1} in the low and the number of names in the high half.
     */
    long reduce(int[] bkt) {
      java.util.Arrays.fill(sa, 0, n, -1);
      buckets(bkt, true);
      for (int i = n - 1; i >= 1; i--) {
        if (isLms(i)) {
          sa[--bkt[chr(i)]] = i;
        }
      }
      induce(bkt);
      int n1 = 0;
      for (int i = 0; i < n; i++) {
        int p = sa[i];
        if (isLms(p)) {
          sa[n1++] = p;
        }
      }
      java.util.Arrays.fill(sa, n1, n, -1);
      int names = 0;
      int prev = -1;
      for (int i = 0; i < n1; i++) {
        int pos = sa[i];
        if (prev < 0 || !sameLmsSubstring(pos, prev)) {
          names++;
          prev = pos;
        }
        // LMS positions are at least two apart, so pos / 2 gives each a distinct slot.
        sa[n1 + (pos >>> 1)] = names - 1;
      }
      for (int i = n - 1, j = n - 1; i >= n1; i--) {
        if (sa[i] >= 0) {
          sa[j--] = sa[i];
        }
      }
      return ((long) names << 32) | n1;
    }

    private boolean sameLmsSubstring(int a, int b) {
      for (int d = 0; ; d++) {
        if (a + d == n || b + d == n) {
          return false; // only one of them reaches the sentinel
        }
        if (chr(a + d) != chr(b + d) || isS(a + d) != isS(b + d)) {
          return false;
        }
        if (d > 0 && (isLms(a + d) || isLms(b + d))) {
          return true; // equal types so far imply both end here
        }
      }
    }

    /** Given the sorted reduced suffixes in {@code sa[0, n1)}, induces the full suffix array. */
    void expand(int[] bkt, int n1) {
      int lmsAt = n - n1;
      for (int i = 1, j = lmsAt; i < n; i++) {
        if (isLms(i)) {
          sa[j++] = i;
        }
      }
      for (int i = 0; i < n1; i++) {
        sa[i] = sa[lmsAt + sa[i]];
      }
      java.util.Arrays.fill(sa, n1, n, -1);
      buckets(bkt, true);
      for (int i = n1 - 1; i >= 0; i--) {
        int j = sa[i];
        sa[i] = -1;
        sa[--bkt[chr(j)]] = j;
      }
      induce(bkt);
    }
  }

  private static void sort(byte[] text, int[] sa, int n0) {
    long[] sType = new long[(n0 + 63) >>> 6];
    // Each level at most halves the length, so 32 levels cover any int length.
    int[] lvN = new int[33];
    int[] lvK = new int[33];
    int[] lvOff = new int[33];
    int[] lvN1 = new int[33];
    int depth = 0;
    int n = n0;
    int k = 256;
    int off = 0;
    while (true) {
      Level level = new Level(depth == 0 ? text : null, sa, off, n, k, sType);
      long r = level.reduce(new int[k]);
      int n1 = (int) r;
      int names = (int) (r >>> 32);
      lvN[depth] = n;
      lvK[depth] = k;
      lvOff[depth] = off;
      lvN1[depth] = n1;
      if (names < n1) {
        // Not all LMS substrings are distinct: sort the reduced string one level up.
        off = n - n1;
        n = n1;
        k = names;
        depth++;
      } else {
        // All distinct: the names are the ranks, so the reduced suffix array follows directly.
        for (int i = 0; i < n1; i++) {
          sa[sa[n - n1 + i]] = i;
        }
        break;
      }
    }
    for (int d = depth; d >= 0; d--) {
      Level level = new Level(d == 0 ? text : null, sa, lvOff[d], lvN[d], lvK[d], sType);
      level.expand(new int[lvK[d]], lvN1[d]);
    }
  }
}
