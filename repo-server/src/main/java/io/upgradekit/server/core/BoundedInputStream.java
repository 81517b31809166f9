package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Passes at most {@code limit} bytes through and fails with BODY_TOO_LARGE as soon as the source
 * has more, so that an over-long chunked body is refused without being stored.
 */
public final class BoundedInputStream extends FilterInputStream {
  private final long limit;
  private final String what;
  private long count;

  public BoundedInputStream(InputStream in, long limit, String what) {
    super(in);
    this.limit = limit;
    this.what = what;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      count(1);
    }
    return b;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    int n = super.read(buffer, offset, length);
    if (n > 0) {
      count(n);
    }
    return n;
  }

  private void count(int n) {
    count += n;
    if (count > limit) {
      throw new UpgradeException(ErrorCode.BODY_TOO_LARGE, what + " is larger than the " + limit + "-byte limit");
    }
  }

  /** Bytes read so far. */
  public long count() {
    return count;
  }

  /**
   * Reads the whole stream into memory, refusing it once it exceeds {@code limit}.
   *
   * @throws UpgradeException BODY_TOO_LARGE
   */
  public static byte[] readAll(InputStream in, long limit, String what) throws IOException {
    return new BoundedInputStream(in, limit, what).readAllBytes();
  }
}
