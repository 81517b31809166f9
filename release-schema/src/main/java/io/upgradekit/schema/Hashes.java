package io.upgradekit.schema;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** SHA-256 helpers; every content hash in the product is lowercase hex SHA-256. */
public final class Hashes {
  /** A SHA-256 in the product's spelling: 64 lowercase hex digits. */
  public static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  private static final HexFormat HEX = HexFormat.of();

  private Hashes() {}

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  public static String sha256(byte[] bytes) {
    return HEX.formatHex(newSha256().digest(bytes));
  }

  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return sha256(in);
    }
  }

  /** Hashes the stream to its end; does not close it. */
  public static String sha256(InputStream in) throws IOException {
    MessageDigest digest = newSha256();
    byte[] buffer = new byte[64 * 1024];
    for (int n; (n = in.read(buffer)) > 0; ) {
      digest.update(buffer, 0, n);
    }
    return HEX.formatHex(digest.digest());
  }

  public static String hex(byte[] bytes) {
    return HEX.formatHex(bytes);
  }

  public static boolean isSha256Hex(String value) {
    return value != null && SHA256_HEX.matcher(value).matches();
  }
}
