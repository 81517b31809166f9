package io.upgradekit.schema.api;

import io.upgradekit.schema.ErrorCode;
import java.util.Optional;

/**
 * Every error answer of the API (any 4xx or 5xx that repo-server produces, also for malformed
 * requests that never reach a handler): a stable code and a sentence that says what is wrong and
 * how to fix it. Schema {@code error.schema.json}.
 *
 * <p>The code is kept as text: a newer server may send a code that this release does not know
 * ({@link #knownCode()} is then empty), and the answer is still read.
 *
 * @param code an {@link ErrorCode} name
 * @param message the sentence
 */
public record ApiError(String code, String message) {
  /**
   * Longest message, in characters: far above any real one (a server's messages quote at most
   * short parts of a request), and small enough that the body stays under its cap even if every
   * character needs a six-byte JSON escape.
   */
  public static final int MAX_MESSAGE_LENGTH = 8 * 1024;

  public ApiError {
    Wire.code(code, "code");
    Wire.text(Wire.required(message, "message"), "message", MAX_MESSAGE_LENGTH);
  }

  /**
   * An error with {@code code}, as a server writes it: a missing message becomes the code's name,
   * and one over {@link #MAX_MESSAGE_LENGTH} is cut (an error answer must never fail itself).
   */
  public static ApiError of(ErrorCode code, String message) {
    String text = message == null ? code.name() : message;
    if (text.length() > MAX_MESSAGE_LENGTH) {
      text = text.substring(0, MAX_MESSAGE_LENGTH - 3) + "...";
    }
    return new ApiError(code.name(), text);
  }

  /** The code, if this release knows it. */
  public Optional<ErrorCode> knownCode() {
    for (ErrorCode known : ErrorCode.values()) {
      if (known.name().equals(code)) {
        return Optional.of(known);
      }
    }
    return Optional.empty();
  }
}
