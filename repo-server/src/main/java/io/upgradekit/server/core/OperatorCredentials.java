package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The operators' credentials ({@code --operator-credentials FILE}): one line per operator, {@code
 * <name> <role> <token>}, where the role is {@code operator} (may act on rollouts) or {@code viewer}
 * (may read them), the token at least {@value Secrets#MIN_LENGTH} characters; blank lines and lines
 * starting with {@code #} are skipped. The file must be readable by the server's user only, is
 * read again when replaced (within the refresh delay, no restart), and fails closed when it becomes
 * unusable. Tokens are compared as SHA-256 digests in constant time, every line each time.
 *
 * <p>Thread-safe.
 */
public final class OperatorCredentials {
  private static final long MAX_FILE_BYTES = 1 << 20;

  /** One line. */
  private record Line(String name, Caller.Operator.Role role, byte[] digest) {}

  private final Supplier<List<Line>> lines;

  private OperatorCredentials(Supplier<List<Line>> lines) {
    this.lines = lines;
  }

  /**
   * Reads the file now and watches it.
   *
   * @throws UpgradeException CONFIG_INVALID naming the line and the fix
   */
  public static OperatorCredentials open(Path file, Duration refresh, LongSupplier nanoTime) {
    String option = "--operator-credentials";
    return new OperatorCredentials(new WatchedFile<>(file, refresh, nanoTime, f -> read(f, option),
        why -> new UpgradeException(ErrorCode.IO_ERROR, option + " " + file + " cannot be used (" + why + "); until"
            + " it can, operator requests are refused (replace the file atomically: write a new one, then mv it over)")));
  }

  private static List<Line> read(Path file, String option) throws IOException {
    Secrets.requireOwnerOnly(file, option);
    List<String> text;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " is larger than 1 MiB");
      }
      text = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " does not exist; write one line"
          + " per operator: '<name> operator|viewer <token>' (mode 0600)", e);
    }
    List<Line> lines = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < text.size(); i++) {
      String line = text.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = option + " " + file + " line " + (i + 1);
      String[] parts = line.split("\\s+");
      if (parts.length != 3) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, where + " must be '<name> operator|viewer <token>'");
      }
      if (!Names.isLowercaseName(parts[0]) || !names.add(parts[0])) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, where + ": the name must be unique and match "
            + Names.LOWERCASE_NAME_PATTERN + " (it is the actor recorded with each action)");
      }
      Caller.Operator.Role role = switch (parts[1]) {
        case "operator" -> Caller.Operator.Role.OPERATOR;
        case "viewer" -> Caller.Operator.Role.VIEWER;
        default -> throw new UpgradeException(ErrorCode.CONFIG_INVALID, where + ": the role must be operator or"
            + " viewer, not '" + Printable.of(parts[1]) + "'");
      };
      byte[] token = Secrets.fromText(parts[2], where);
      lines.add(new Line(parts[0], role, Hashes.newSha256().digest(token)));
    }
    return List.copyOf(lines);
  }

  /** The operator whose token this is, or null. */
  public Caller.Operator match(String token) {
    return matchDigest(digest(token));
  }

  /** The digest a token is compared by (what a dashboard session keeps instead of the token). */
  public static byte[] digest(String token) {
    return Hashes.newSha256().digest(token.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The operator whose token has this {@link #digest}, as the file says now, or null: a session
   * checks its operator again on every request, so removing the line (or changing the role) takes
   * effect on open sessions within the refresh delay.
   */
  public Caller.Operator matchDigest(byte[] presented) {
    Caller.Operator found = null;
    for (Line line : lines.get()) {
      if (MessageDigest.isEqual(line.digest(), presented) && found == null) {
        found = new Caller.Operator(line.name(), line.role());
      }
    }
    return found;
  }
}
