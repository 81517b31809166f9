package io.upgradekit.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every code has its meaning and fix, and docs/error-codes.md shows exactly the jar's table. */
class ErrorCodeHelpTest {
  @Test
  void everyCodeIsDocumentedWithAFix() {
    for (ErrorCode code : ErrorCode.values()) {
      ErrorCodeHelp.Entry entry = ErrorCodeHelp.entry(code.name());
      assertThat(entry).as(code.name()).isNotNull();
      assertThat(entry.meaning()).as(code.name()).isNotBlank();
      assertThat(entry.fix()).as(code.name()).isNotBlank();
    }
    assertThat(ErrorCodeHelp.fix("HEALTH_CHECK_FAILED")).contains("retry the node");
    assertThat(ErrorCodeHelp.fix("SOME_FUTURE_CODE")).isNull();
    assertThat(ErrorCodeHelp.fix(null)).isNull();
  }

  @Test
  void theDocumentationShowsTheSameTable() throws Exception {
    Path doc = Path.of("..", "docs", "error-codes.md");
    List<String> rows = new ArrayList<>();
    for (String line : Files.readAllLines(doc, StandardCharsets.UTF_8)) {
      if (line.startsWith("| `")) {
        rows.add(line);
      }
    }
    List<String> expected = new ArrayList<>();
    ErrorCodeHelp.all().forEach((code, entry) -> expected.add("| `" + code.name() + "` | " + entry.meaning() + " | "
        + entry.fix() + " |"));
    assertThat(rows).containsExactlyInAnyOrderElementsOf(expected);
  }
}
