package io.upgradekit.schema.io;

import java.io.IOException;

/**
 * A {@link java.util.function.Consumer} that may throw {@link IOException}, so that code writing
 * to a stream can be passed to {@link DurableFiles} without wrapping its exceptions.
 *
 * @param <T> what the callback receives
 */
@FunctionalInterface
public interface IoConsumer<T> {
  /**
   * Performs this operation on the given value.
   *
   * @param value the value (for {@link DurableFiles}, the stream to write the new content to)
   * @throws IOException if writing fails; {@link DurableFiles} then discards the partial content
   */
  void accept(T value) throws IOException;
}
