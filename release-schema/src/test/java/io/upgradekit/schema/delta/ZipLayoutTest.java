package io.upgradekit.schema.delta;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ZipLayoutTest {
  @Test
  void tilesPrefixEntriesDescriptorsGapsAndComment() {
    byte[] zip = new RawZip()
        .prefix("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8))
        .entry("a", "alpha".getBytes(StandardCharsets.UTF_8), null, new byte[0], "", 0, 0)
        .entry("b", TestTrees.text(1, 20), RawZip.level(9), new byte[] {1, 2, 0, 0}, "c", 16, 0)
        .gap(3)
        .entry("c", TestTrees.text(2, 20), RawZip.level(1), new byte[0], "", 12, 0)
        .comment("end")
        .bytes();
    ZipLayout layout = ZipLayout.parse(ByteBuffer.wrap(zip));
    assertThat(layout).isNotNull();
    assertThat(layout.entries).extracting(ZipLayout.Entry::name).containsExactly("a", "b", "c");
    assertThat(layout.entries).extracting(ZipLayout.Entry::gapBefore).containsExactly(10, 0, 3);
    assertThat(layout.entries).extracting(ZipLayout.Entry::descriptorLength).containsExactly(0, 16, 12);
    long data = layout.entries.stream().mapToLong(ZipLayout.Entry::dataLength).sum();
    byte[] meta = ZipMeta.normalize(ByteBuffer.wrap(zip), layout, ZipMeta.Values.declared(ByteBuffer.wrap(zip), layout));
    assertThat(meta).hasSize((int) (zip.length - data));
  }

  @Test
  void notZipsAreNull() {
    assertThat(ZipLayout.parse(ByteBuffer.wrap(new byte[0]))).isNull();
    assertThat(ZipLayout.parse(ByteBuffer.wrap("PK\3\4 but nothing else".getBytes(StandardCharsets.UTF_8)))).isNull();
    byte[] zip = TestTrees.jar(new String[][] {{"a", "1"}, {"b", "2"}});
    for (int cut = 1; cut < zip.length; cut += 3) {
      // Truncated zips either parse to something self-consistent or are refused; they never throw.
      ZipLayout.parse(ByteBuffer.wrap(Arrays.copyOf(zip, cut)));
    }
    byte[] flipped = zip.clone();
    for (int i = 0; i < zip.length; i++) {
      flipped[i] ^= (byte) 0xff;
      ZipLayout.parse(ByteBuffer.wrap(flipped));
      flipped[i] ^= (byte) 0xff;
    }
  }

  @Test
  void deflateLevelsAreDetectedAndOddStreamsAreNot() {
    byte[] content = TestTrees.text(3, 500);
    for (int level = 1; level <= 9; level++) {
      byte[] raw = Deflation.deflate(content, 0, content.length, level, Integer.MAX_VALUE);
      int found = Deflation.detectLevel(content, ByteBuffer.wrap(raw), 6);
      byte[] again = Deflation.deflate(content, 0, content.length, found, Integer.MAX_VALUE);
      assertThat(again).as("level " + level + " found as " + found).isEqualTo(raw);
    }
    byte[] huffman = new RawZip().entry("h", content, RawZip.huffmanOnly(), new byte[0], "", 0, 0).bytes();
    ZipLayout.Entry e = ZipLayout.parse(ByteBuffer.wrap(huffman)).entries.get(0);
    assertThat(Deflation.detectLevel(content, ByteBuffer.wrap(huffman, e.dataOffset(), e.dataLength()).slice(), 6))
        .isEqualTo(-1);
  }
}
