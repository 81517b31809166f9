package io.upgradekit.plugin.set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.SetRules;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * A release set's descriptor, the YAML file teams already write:
 *
 * <pre>{@code
 * components:
 *   - {name: database, version: v2, depends_on: []}
 *   - {name: cache,    version: v2, depends_on: [database]}
 *   - {name: api,      version: v2, depends_on: [cache]}
 *   - {name: gateway,  version: v2, depends_on: [api]}
 * strategy: rolling                 # or sequential; default rolling
 * rollback_policy: auto             # or manual; default manual
 * contracts:                        # optional
 *   - api 2.x requires cache >= 2.0
 * }</pre>
 *
 * <p>Read strictly and within bounds, as input that may be hostile: at most {@value #MAX_BYTES}
 * bytes, nesting at most {@value #MAX_DEPTH} deep, no anchors or aliases, no duplicate keys,
 * no unknown keys (a typo must not silently drop a dependency), at most {@value
 * ReleaseSet#MAX_COMPONENTS} components (checked while reading, so a file of ten thousand is refused
 * at the first one too many). Scalars keep their text as written, so {@code version: 2.10} is
 * {@code 2.10}, not the number 2.1. A shape error is {@code CONFIG_INVALID} with the file, the line,
 * the key and the fix; the set's own rules (cycles, unknown or duplicate components, contracts) are
 * {@link #problems()}, with their typed codes.
 *
 * @param source the file's name as the user gave it, for messages
 * @param components the components, in the order listed
 * @param strategy {@code rolling} unless the file says {@code sequential}
 * @param rollbackPolicy {@code manual} unless the file says {@code auto}
 * @param contracts the contracts (may be empty)
 */
public record SetDescriptor(String source, List<ReleaseSet.Component> components, ReleaseSet.Strategy strategy,
    ReleaseSet.Rollback rollbackPolicy, List<ReleaseSet.Contract> contracts) {
  /** Largest descriptor read: 256 components take about 20 KB. */
  public static final int MAX_BYTES = 1024 * 1024;
  /** Deepest nesting: the document, components, a component, its depends_on. */
  public static final int MAX_DEPTH = 8;
  /** Longest scalar: a contract is the longest value a descriptor holds. */
  public static final int MAX_SCALAR = 512;

  private static final List<String> TOP_KEYS = List.of("components", "strategy", "rollback_policy", "contracts");
  private static final List<String> COMPONENT_KEYS = List.of("name", "version", "depends_on");

  public SetDescriptor {
    components = List.copyOf(components);
    contracts = List.copyOf(contracts);
  }

  /**
   * Reads a descriptor file.
   *
   * @throws UpgradeException CONFIG_INVALID (unreadable, not the shape), NAME_INVALID (a name),
   *     SET_TOO_LARGE (too large), CONTRACT_INVALID (a contract that is not one), each with the
   *     file and line
   */
  public static SetDescriptor read(Path file) {
    byte[] bytes;
    try {
      bytes = BoundedFiles.read(file, MAX_BYTES);
    } catch (BoundedFiles.TooLargeException e) {
      throw new ConfigurationException(ErrorCode.SET_TOO_LARGE, file + " is larger than " + MAX_BYTES + " bytes: a"
          + " release set of " + ReleaseSet.MAX_COMPONENTS + " components takes about 20 KB; is it the right file?");
    } catch (NoSuchFileException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "the release set descriptor " + file + " does not"
          + " exist: write it (see docs/release-sets.md) or point <descriptor> (-Dupgrade.descriptor) at it");
    } catch (IOException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "cannot read the release set descriptor " + file
          + ": " + e, e);
    }
    return parse(file.toString(), bytes);
  }

  /** Parses descriptor text; {@code source} names it in messages. */
  public static SetDescriptor parse(String source, byte[] yaml) {
    if (yaml.length > MAX_BYTES) {
      throw new ConfigurationException(ErrorCode.SET_TOO_LARGE, source + " is larger than " + MAX_BYTES + " bytes");
    }
    return new Reader(source).document(yaml);
  }

  /** Every broken rule of the set (empty when it is sound). */
  public List<SetRules.Problem> problems() {
    return SetRules.check(components, contracts);
  }

  /**
   * The signed document's content.
   *
   * @throws UpgradeException the first of {@link #problems()}
   */
  public ReleaseSet toSet(String name, String version, long sequence, Instant created, Instant expires) {
    List<SetRules.Problem> problems = problems();
    if (!problems.isEmpty()) {
      throw new ConfigurationException(problems.get(0).code(), source + ": " + (problems.size() == 1
          ? problems.get(0).message()
          : problems.size() + " problems: " + problems.stream().map(SetRules.Problem::toString)
              .collect(Collectors.joining("; "))));
    }
    return ReleaseSet.of(name, version, sequence, created, expires, components, strategy, rollbackPolicy, contracts);
  }

  /** A parsed YAML value with the line it starts on. */
  private sealed interface Node permits Scalar, Mapping, Sequence {
    int line();
  }

  private record Scalar(String text, int line) implements Node {}

  private record Mapping(Map<String, Node> entries, int line) implements Node {}

  private record Sequence(List<Node> items, int line) implements Node {}

  /** One parse: the streaming parser, building a small tree with lines, bounded as it goes. */
  private static final class Reader {
    private final String source;

    Reader(String source) {
      this.source = source;
    }

    SetDescriptor document(byte[] yaml) {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(0);
      options.setNestingDepthLimit(MAX_DEPTH + 2);
      options.setCodePointLimit(MAX_BYTES);
      // Duplicate keys are refused by the parser's own detection (STRICT_DUPLICATE_DETECTION, below).
      YAMLFactory factory = YAMLFactory.builder().loaderOptions(options)
          .disable(com.fasterxml.jackson.core.StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH + 2)
              .maxStringLength(MAX_BYTES).build())
          .build();
      Node root;
      try (JsonParser parser = factory.createParser(yaml)) {
        parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        if (parser.nextToken() == null) {
          throw error(1, "the file is empty: list the set's components under 'components:'");
        }
        root = node(parser, "the document", 0);
        if (parser.nextToken() != null) {
          throw error(parser.currentTokenLocation().getLineNr(), "the file holds more than one YAML document:"
              + " keep one");
        }
      } catch (StreamConstraintsException e) {
        throw error(0, "the file exceeds a parsing limit: " + e.getOriginalMessage());
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw error(e.getLocation() == null ? 0 : e.getLocation().getLineNr(), "the file is not valid YAML: "
            + oneLine(e.getOriginalMessage()));
      } catch (IOException e) {
        throw error(0, "the file is not valid YAML: " + oneLine(e.getMessage()));
      } catch (RuntimeException e) {
        if (e instanceof UpgradeException) {
          throw e;
        }
        // SnakeYAML's own limits (aliases, depth, size) surface as its runtime exceptions.
        throw error(0, "the file is not valid YAML: " + oneLine(e.getMessage()));
      }
      if (!(root instanceof Mapping top)) {
        throw error(root.line(), "the file must be a mapping with 'components:' (and 'strategy:', 'rollback_policy:',"
            + " 'contracts:')");
      }
      requireKnown(top, "the descriptor", TOP_KEYS);
      Node listed = top.entries().get("components");
      if (!(listed instanceof Sequence sequence) || sequence.items().isEmpty()) {
        throw error(listed == null ? top.line() : listed.line(), "'components' must list the set's components, e.g."
            + " '- {name: database, version: v2, depends_on: []}'");
      }
      List<ReleaseSet.Component> components = new ArrayList<>();
      for (int i = 0; i < sequence.items().size(); i++) {
        components.add(component(sequence.items().get(i), "components[" + i + "]"));
      }
      ReleaseSet.Strategy strategy = choice(top, "strategy", ReleaseSet.Strategy.class, ReleaseSet.Strategy.ROLLING);
      ReleaseSet.Rollback rollback = choice(top, "rollback_policy", ReleaseSet.Rollback.class,
          ReleaseSet.Rollback.MANUAL);
      List<ReleaseSet.Contract> contracts = new ArrayList<>();
      Node written = top.entries().get("contracts");
      if (written != null && !(written instanceof Scalar s && s.text() == null)) {
        if (!(written instanceof Sequence list)) {
          throw error(written.line(), "'contracts' must be a list of lines like '- api 2.x requires cache >= 2.0'");
        }
        for (int i = 0; i < list.items().size(); i++) {
          Node item = list.items().get(i);
          String text = text(item, "contracts[" + i + "]");
          contracts.add(located(item.line(), "contracts[" + i + "]", () -> ReleaseSet.Contract.parse(text)));
        }
      }
      return new SetDescriptor(source, components, strategy, rollback, contracts);
    }

    private ReleaseSet.Component component(Node node, String where) {
      if (!(node instanceof Mapping m)) {
        throw error(node.line(), where + " must be a mapping like '{name: cache, version: v2, depends_on:"
            + " [database]}'");
      }
      requireKnown(m, where, COMPONENT_KEYS);
      String name = text(required(m, "name", where), where + ".name");
      String version = text(required(m, "version", where), where + ".version");
      List<String> dependsOn = new ArrayList<>();
      Node deps = m.entries().get("depends_on");
      if (deps != null && !(deps instanceof Scalar s && s.text() == null)) {
        if (!(deps instanceof Sequence list)) {
          throw error(deps.line(), where + ".depends_on must be a list of component names, e.g. [database]"
              + " ([] for none)");
        }
        for (int i = 0; i < list.items().size(); i++) {
          dependsOn.add(text(list.items().get(i), where + ".depends_on[" + i + "]"));
        }
      }
      return located(m.line(), where, () -> new ReleaseSet.Component(name, version, dependsOn));
    }

    private <E extends Enum<E>> E choice(Mapping top, String key, Class<E> type, E fallback) {
      Node node = top.entries().get(key);
      if (node == null || (node instanceof Scalar s && s.text() == null)) {
        return fallback;
      }
      String value = text(node, key).strip().toLowerCase(Locale.ROOT);
      for (E e : type.getEnumConstants()) {
        if (e.name().toLowerCase(Locale.ROOT).equals(value)) {
          return e;
        }
      }
      String allowed = java.util.Arrays.stream(type.getEnumConstants())
          .map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(" or "));
      throw error(node.line(), key + " is " + Names.quote(value) + ": write " + allowed);
    }

    private Node required(Mapping m, String key, String where) {
      Node node = m.entries().get(key);
      if (node == null || (node instanceof Scalar s && s.text() == null)) {
        throw error(m.line(), where + " has no '" + key + "': every component has a name (its app) and a version");
      }
      return node;
    }

    private String text(Node node, String where) {
      if (!(node instanceof Scalar s) || s.text() == null) {
        throw error(node.line(), where + " must be a plain value, not " + (node instanceof Mapping ? "a mapping"
            : node instanceof Sequence ? "a list" : "empty"));
      }
      return s.text();
    }

    private void requireKnown(Mapping m, String where, List<String> known) {
      for (String key : m.entries().keySet()) {
        if (!known.contains(key)) {
          throw error(m.line(), where + " has an unknown key " + Names.quote(key) + ": the keys are "
              + String.join(", ", known) + " (a misspelt key would silently drop its setting)");
        }
      }
    }

    private Node node(JsonParser p, String path, int depth) throws IOException {
      int line = p.currentTokenLocation().getLineNr();
      if (depth > MAX_DEPTH) {
        throw error(line, path + " is nested deeper than " + MAX_DEPTH + " levels: a descriptor needs four");
      }
      JsonToken token = p.currentToken();
      if (isAnchorOrAlias(p)) {
        throw error(line, path + " uses a YAML anchor or alias: write every value out");
      }
      switch (token) {
        case START_OBJECT -> {
          Map<String, Node> entries = new LinkedHashMap<>();
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (key.length() > 64) {
              throw error(p.currentTokenLocation().getLineNr(), path + " has a key longer than 64 characters");
            }
            p.nextToken();
            entries.put(key, node(p, path.equals("the document") ? key : path + "." + key, depth + 1));
          }
          return new Mapping(entries, line);
        }
        case START_ARRAY -> {
          List<Node> items = new ArrayList<>();
          int cap = path.equals("components") ? ReleaseSet.MAX_COMPONENTS : 4 * ReleaseSet.MAX_COMPONENTS;
          while (p.nextToken() != JsonToken.END_ARRAY) {
            if (items.size() == cap) {
              throw new ConfigurationException(ErrorCode.SET_TOO_LARGE, source + " line " + line + ": " + path
                  + " lists more than " + cap + (path.equals("components") ? " components, the most a release set"
                  + " holds: split the system into several sets" : " items"));
            }
            items.add(node(p, path + "[" + items.size() + "]", depth + 1));
          }
          return new Sequence(items, line);
        }
        case VALUE_NULL -> {
          return new Scalar(null, line);
        }
        case VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE -> {
          String text = p.getText();
          if (text.length() > MAX_SCALAR) {
            throw error(line, path + " is longer than " + MAX_SCALAR + " characters");
          }
          return new Scalar(text, line);
        }
        default -> throw error(line, path + " holds a value of a kind a descriptor does not use (" + token + ")");
      }
    }

    private static boolean isAnchorOrAlias(JsonParser p) {
      return p instanceof com.fasterxml.jackson.dataformat.yaml.YAMLParser y
          && (y.isCurrentAlias() || y.getCurrentAnchor() != null);
    }

    private <T> T located(int line, String where, java.util.function.Supplier<T> build) {
      try {
        return build.get();
      } catch (UpgradeException e) {
        throw new ConfigurationException(e.code(), source + " line " + line + ": " + where + ": " + e.getMessage(), e);
      }
    }

    private ConfigurationException error(int line, String message) {
      return new ConfigurationException(ErrorCode.CONFIG_INVALID, source + (line > 0 ? " line " + line : "") + ": "
          + message);
    }

    private static String oneLine(String text) {
      String line = text == null ? "" : text.replaceAll("\\s+", " ").strip();
      return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }
  }
}
