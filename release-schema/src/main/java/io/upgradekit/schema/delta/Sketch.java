package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A bottom-k MinHash sketch of a byte string's 8-byte shingles: the {@value #K} smallest distinct
 * shingle hashes. Two sketches estimate how much of their content two files share (Jaccard
 * similarity), which decides whether a file renamed by a content hash is paired with an old file
 * at all, and with which one when several old files match its blanked name: a chunk whose hash
 * changed shares nearly all of its shingles with its predecessor, an unrelated chunk few.
 *
 * <p>One pass over the bytes and {@value #K} longs per sketch, so candidates can be compared
 * without holding two files at once.
 */
final class Sketch {
  static final int K = 128;
  /**
   * Pairs found by a blanked hash need at least this similarity, and the most similar candidate
   * wins. Measured on the corpus: Keycloak's renamed Vite chunks and source maps 0.60-1.0 with
   * their predecessors, at most 0.11 with any other candidate; Flink's webpack chunks, whose
   * minified identifiers change between releases, 0.24-0.60 with their predecessors, 0.02-0.09
   * between large unrelated chunks (small chunks share more of the bundler's boilerplate).
   */
  static final double PAIRING_THRESHOLD = 0.1;

  private final long[] hashes;

  private Sketch(long[] hashes) {
    this.hashes = hashes;
  }

  static Sketch of(byte[] bytes) {
    return of(ByteBuffer.wrap(bytes));
  }

  static Sketch of(ByteBuffer bytes) {
    ByteBuffer b = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
    int n = b.remaining();
    // A max-heap of the K smallest hashes seen: after the first few thousand shingles a new hash
    // rarely beats the largest, so the pass costs one multiply and compare per byte.
    long[] heap = new long[K];
    int size = 0;
    if (n < 8) {
      long v = 0;
      for (int i = 0; i < n; i++) {
        v = v << 8 | (b.get(i) & 0xff);
      }
      return n == 0 ? new Sketch(new long[0]) : new Sketch(new long[] {mix(v ^ n)});
    }
    for (int i = 0; i + 8 <= n; i++) {
      long h = mix(b.getLong(i));
      if (size < K) {
        if (!contains(heap, size, h)) {
          heap[size++] = h;
          siftUp(heap, size - 1);
        }
      } else if (Long.compareUnsigned(h, heap[0]) < 0 && !contains(heap, size, h)) {
        heap[0] = h;
        siftDown(heap, size);
      }
    }
    long[] sorted = Arrays.copyOf(heap, size);
    for (int i = 0; i < sorted.length; i++) {
      sorted[i] ^= Long.MIN_VALUE; // unsigned order through signed sort
    }
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      sorted[i] ^= Long.MIN_VALUE;
    }
    return new Sketch(sorted);
  }

  /** Estimated Jaccard similarity of the two shingle sets, 0 to 1. */
  double similarity(Sketch other) {
    long[] a = hashes;
    long[] b = other.hashes;
    if (a.length == 0 || b.length == 0) {
      return a.length == b.length ? 1 : 0;
    }
    // The K smallest of the union; the share of them found in both sets estimates the Jaccard index.
    int i = 0;
    int j = 0;
    int taken = 0;
    int both = 0;
    int limit = Math.min(K, Math.max(a.length, b.length));
    while (taken < limit && (i < a.length || j < b.length)) {
      int c = i == a.length ? 1 : j == b.length ? -1 : Long.compareUnsigned(a[i], b[j]);
      if (c == 0) {
        both++;
        i++;
        j++;
      } else if (c < 0) {
        i++;
      } else {
        j++;
      }
      taken++;
    }
    return (double) both / taken;
  }

  private static long mix(long v) {
    v ^= v >>> 33;
    v *= 0xff51afd7ed558ccdL;
    v ^= v >>> 33;
    v *= 0xc4ceb9fe1a85ec53L;
    return v ^ v >>> 33;
  }

  private static boolean contains(long[] heap, int size, long h) {
    for (int i = 0; i < size; i++) {
      if (heap[i] == h) {
        return true;
      }
    }
    return false;
  }

  private static void siftUp(long[] heap, int at) {
    while (at > 0) {
      int parent = (at - 1) / 2;
      if (Long.compareUnsigned(heap[at], heap[parent]) <= 0) {
        return;
      }
      long t = heap[at];
      heap[at] = heap[parent];
      heap[parent] = t;
      at = parent;
    }
  }

  private static void siftDown(long[] heap, int size) {
    int at = 0;
    while (true) {
      int left = 2 * at + 1;
      if (left >= size) {
        return;
      }
      int larger = left + 1 < size && Long.compareUnsigned(heap[left + 1], heap[left]) > 0 ? left + 1 : left;
      if (Long.compareUnsigned(heap[larger], heap[at]) <= 0) {
        return;
      }
      long t = heap[at];
      heap[at] = heap[larger];
      heap[larger] = t;
      at = larger;
    }
  }
}
