package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Quantities;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutPlan.RollbackPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pom's {@code <rollout>} as the user wrote it, and its translation into the {@link RolloutPlan}
 * signed into the release manifest.
 *
 * <p>Every setting is text, so that each mistake is reported with its element and the fix rather
 * than as Maven's conversion error. Null means "not set": the plan then leaves the field out and the
 * documented default applies (RolloutPlan's). Build time refuses what no fleet could honour (a
 * canary of 0, {@code minAvailable} 100%); whether a plan fits the fleet is repo-server's to judge,
 * where the fleet is known.
 *
 * @param strategy {@code all}, {@code canary} or {@code batches} ({@code <strategy>})
 * @param canary the canary wave: nodes ({@code 2}) or a percentage of the fleet ({@code 10%})
 * @param minAvailable nodes or percentage of the fleet that stay up and healthy at every moment
 * @param bakeTime how long a finished wave must stay healthy, a duration ({@code 10m})
 * @param maxFailures failed nodes tolerated per wave: nodes or percentage of the wave
 * @param approval {@code auto} or {@code manual}
 * @param rollbackPolicy {@code <rollbackPolicy>}, or null
 * @param waveLabel a node label key: after the canary, one wave per value of it
 * @param set the release set that rolls the release out ({@code <set>}): the release never starts by
 *     itself, only when a published set of that name lists it and lets it start
 */
public record RolloutSettings(String strategy, String canary, String minAvailable, String bakeTime,
    String maxFailures, String approval, Rollback rollbackPolicy, String waveLabel, String set) {

  /** The eight settings of earlier releases (no {@code <set>}). */
  public RolloutSettings(String strategy, String canary, String minAvailable, String bakeTime, String maxFailures,
      String approval, Rollback rollbackPolicy, String waveLabel) {
    this(strategy, canary, minAvailable, bakeTime, maxFailures, approval, rollbackPolicy, waveLabel, null);
  }

  /** Prefix of the properties that override {@code <rollout>}'s settings (CI). */
  public static final String PROPERTY_PREFIX = "upgrade.rollout.";

  /** The settings a property may override, by property name after the prefix. */
  public static final List<String> PROPERTIES = List.of("strategy", "canary", "minAvailable", "bakeTime",
      "maxFailures", "approval", "rollbackPolicy.mode", "set");

  private static final Pattern AMOUNT = Pattern.compile("(\\d{1,9})\\s*(%?)");
  private static final Pattern TWO_NUMBERS = Pattern.compile(".*\\d\\D+\\d.*");
  private static final Pattern DECIMAL = Pattern.compile("\\d+[.,]\\d+\\s*%?");
  private static final Pattern FACTOR = Pattern.compile("\\d{1,4}(\\.\\d{1,6})?");
  private static final String AMOUNT_FORMS = "write a whole number of nodes (e.g. 2) or a percentage (e.g. 10%)";

  /**
   * {@code <rollout><rollbackPolicy>}.
   *
   * @param mode {@code auto} or {@code manual}
   * @param errorRateFactor how many times the baseline's error rate counts as worse (a decimal)
   * @param latencyFactor how many times the baseline's latency counts as worse (a decimal)
   * @param window how long after the switch the comparison runs, a duration
   * @param combine {@code any} (either factor) or {@code all} (both)
   */
  public record Rollback(String mode, String errorRateFactor, String latencyFactor, String window, String combine) {}

  /**
   * The plan for a release.
   *
   * @param pom the {@code <rollout>} element, or null if the pom has none
   * @param properties the build's properties (only {@code upgrade.rollout.*} ones are read); each
   *     overrides its element, an empty one removes it
   * @return the plan, or null when neither the pom nor a property asks for one (nodes then install
   *     the release at once, as before plans existed)
   * @throws ConfigurationException CONFIG_INVALID, naming the element or property and the fix
   */
  public static RolloutPlan plan(RolloutSettings pom, Map<String, String> properties) {
    Map<String, String> overrides = new TreeMap<>();
    properties.forEach((name, value) -> {
      if (name.startsWith(PROPERTY_PREFIX)) {
        String key = name.substring(PROPERTY_PREFIX.length());
        if (!PROPERTIES.contains(key)) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "unknown property " + name + ": the rollout's"
              + " properties are " + PROPERTY_PREFIX + String.join(", " + PROPERTY_PREFIX, PROPERTIES)
              + "; set the other settings in <rollout>");
        }
        overrides.put(key, value);
      }
    });
    // An empty property only removes a setting: alone, it asks for no plan.
    if (pom == null && overrides.values().stream().allMatch(value -> value == null || value.isBlank())) {
      return null;
    }
    return new Reader(pom == null ? new RolloutSettings(null, null, null, null, null, null, null, null, null) : pom,
        overrides).plan();
  }

  /**
   * The plan as a pom would write it, every setting with its effective value, for the build log and
   * messages, e.g. {@code strategy batches, canary 1, minAvailable 75%, bakeTime 10m, ...}.
   */
  public static String describe(RolloutPlan plan) {
    boolean all = plan.strategy() == RolloutPlan.Strategy.ALL;
    String canary = all ? "none" : amount(plan.canaryNodes(), plan.canaryPercent(), "1");
    String minAvailable = amount(plan.minAvailableNodes(), plan.minAvailablePercent(),
        all ? "0" : RolloutPlan.DEFAULT_MIN_AVAILABLE_PERCENT + "%");
    RollbackPolicy rollback = plan.rollbackOrDefault();
    return "strategy " + name(plan.strategy()) + ", canary " + canary + ", minAvailable " + minAvailable
        + ", bakeTime " + duration(plan.bakeSecondsOrDefault()) + ", maxFailures "
        + amount(plan.maxFailures(), plan.maxFailuresPercent(), "0") + ", approval "
        + (plan.manualApproval() ? "manual" : "auto") + ", rollbackPolicy " + rollback.mode() + " (errorRateFactor "
        + factor(rollback.errorRateFactorOrDefault()) + ", latencyFactor " + factor(rollback.latencyFactorOrDefault())
        + ", window " + duration(rollback.windowSecondsOrDefault()) + ", combine "
        + (rollback.combine() == null ? "any" : rollback.combine()) + ")"
        + (plan.waveLabel() == null ? "" : ", waveLabel " + plan.waveLabel())
        + (plan.set() == null ? "" : ", set " + plan.set());
  }

  private static String amount(Integer nodes, Integer percent, String otherwise) {
    return nodes != null ? nodes.toString() : percent != null ? percent + "%" : otherwise;
  }

  private static String factor(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  private static String duration(long seconds) {
    if (seconds != 0 && seconds % 86400 == 0) {
      return seconds / 86400 + "d";
    }
    if (seconds != 0 && seconds % 3600 == 0) {
      return seconds / 3600 + "h";
    }
    if (seconds != 0 && seconds % 60 == 0) {
      return seconds / 60 + "m";
    }
    return seconds + "s";
  }

  private static String name(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }

  /** One setting's text and what the user calls it: the element, or the property that overrode it. */
  private record Setting(String text, String name) {
    boolean set() {
      return text != null;
    }

    ConfigurationException invalid(String problem) {
      return new ConfigurationException(ErrorCode.CONFIG_INVALID, name + " is '" + text + "': " + problem);
    }
  }

  /** A "nodes or percent" setting, parsed: exactly one of the two is set. */
  private record Amount(Integer nodes, Integer percent) {}

  /** Reads one pom's settings with their overrides; not shared. */
  private static final class Reader {
    private final RolloutSettings pom;
    private final Map<String, String> overrides;

    Reader(RolloutSettings pom, Map<String, String> overrides) {
      this.pom = pom;
      this.overrides = overrides;
    }

    RolloutPlan plan() {
      Setting strategyText = setting("strategy", pom.strategy());
      RolloutPlan.Strategy strategy = strategyText.set()
          ? RolloutPlan.Strategy.valueOf(choice(strategyText, "all", "canary", "batches").toUpperCase(Locale.ROOT))
          : RolloutPlan.Strategy.BATCHES;
      Setting canaryText = setting("canary", pom.canary());
      Amount canary = amount(canaryText, 1, 100, "a canary wave of no node tests nothing: write at least 1 (node)"
          + " or 1%, or set <strategy>all</strategy> for one wave without a canary");
      if (canary != null && strategy == RolloutPlan.Strategy.ALL) {
        throw canaryText.invalid("strategy all (" + strategyText.name() + ") installs in one wave without a canary:"
            + " set <strategy>canary</strategy> or <strategy>batches</strategy>, or remove " + canaryText.name()
            + (canaryText.name().startsWith(PROPERTY_PREFIX) ? "" : " (or override it with an empty -D"
            + PROPERTY_PREFIX + "canary=)"));
      }
      Amount minAvailable = amount(setting("minAvailable", pom.minAvailable()), 0, 99,
          "at 100% no node could ever be taken down to update: write at most 99%, or a node count");
      Amount maxFailures = amount(setting("maxFailures", pom.maxFailures()), 0, 100, null);
      Long bake = seconds(setting("bakeTime", pom.bakeTime()), false);
      Setting approvalText = setting("approval", pom.approval());
      RolloutPlan.Approval approval = approvalText.set()
          ? RolloutPlan.Approval.valueOf(choice(approvalText, "auto", "manual").toUpperCase(Locale.ROOT))
          : null;
      return new RolloutPlan(null, strategy, minAvailable == null ? null : minAvailable.percent(), bake, rollback(),
          minAvailable == null ? null : minAvailable.nodes(), canary == null ? null : canary.nodes(),
          canary == null ? null : canary.percent(), maxFailures == null ? null : maxFailures.nodes(),
          maxFailures == null ? null : maxFailures.percent(), approval, waveLabel(), set());
    }

    private String set() {
      Setting set = setting("set", pom.set());
      if (!set.set() || set.text().isBlank()) {
        return null;
      }
      try {
        return Names.requireSetName(set.text().strip());
      } catch (UpgradeException e) {
        throw set.invalid("a release set's name is " + Names.LOWERCASE_NAME_PATTERN + ", as <setName> of"
            + " upgrade:release-set (e.g. shop)");
      }
    }

    private RollbackPolicy rollback() {
      Rollback given = pom.rollbackPolicy() == null ? new Rollback(null, null, null, null, null)
          : pom.rollbackPolicy();
      Setting mode = setting("rollbackPolicy.mode", given.mode());
      Setting errorRate = element("rollbackPolicy><errorRateFactor", given.errorRateFactor());
      Setting latency = element("rollbackPolicy><latencyFactor", given.latencyFactor());
      Setting window = element("rollbackPolicy><window", given.window());
      Setting combine = element("rollbackPolicy><combine", given.combine());
      if (!mode.set() && !errorRate.set() && !latency.set() && !window.set() && !combine.set()) {
        return null;
      }
      return new RollbackPolicy(mode.set() ? choice(mode, "auto", "manual") : "manual", factor(errorRate),
          factor(latency), seconds(window, true), combine.set() ? choice(combine, "any", "all") : null);
    }

    private String waveLabel() {
      Setting label = element("waveLabel", pom.waveLabel());
      if (!label.set()) {
        return null;
      }
      try {
        return Names.requireLabelKey(label.text());
      } catch (UpgradeException e) {
        throw label.invalid("a wave label is a node label's key (as in the updater's node.labels, e.g. zone): "
            + Names.LABEL_KEY_PATTERN);
      }
    }

    /** The property if one is given (an empty one unsets), else the element. */
    private Setting setting(String key, String elementValue) {
      if (overrides.containsKey(key)) {
        return new Setting(clean(overrides.get(key)), PROPERTY_PREFIX + key);
      }
      return element(key.replace(".", "><"), elementValue);
    }

    private static Setting element(String path, String value) {
      return new Setting(clean(value), "<rollout><" + path + ">");
    }

    private static String clean(String text) {
      return text == null || text.isBlank() ? null : text.strip();
    }

    private static String choice(Setting setting, String... allowed) {
      String value = setting.text().toLowerCase(Locale.ROOT);
      if (!List.of(allowed).contains(value)) {
        throw setting.invalid("write " + String.join(", ", List.of(allowed).subList(0, allowed.length - 1)) + " or "
            + allowed[allowed.length - 1]);
      }
      return value;
    }

    /**
     * A count of nodes (at least {@code minimum}) or a percentage ({@code minimum} to {@code
     * maxPercent}); {@code impossible} explains the value that no fleet could honour, if any.
     */
    private static Amount amount(Setting setting, int minimum, int maxPercent, String impossible) {
      if (!setting.set()) {
        return null;
      }
      String text = setting.text();
      Matcher m = AMOUNT.matcher(text);
      if (!m.matches()) {
        if (text.startsWith("-")) {
          throw setting.invalid("it must not be negative: " + AMOUNT_FORMS);
        }
        if (DECIMAL.matcher(text).matches()) {
          throw setting.invalid("whole numbers only: " + AMOUNT_FORMS);
        }
        if (TWO_NUMBERS.matcher(text).matches() && text.contains("%")) {
          throw setting.invalid("give a node count or a percentage, not both: " + AMOUNT_FORMS);
        }
        throw setting.invalid("not a node count or a percentage: " + AMOUNT_FORMS);
      }
      int n = Integer.parseInt(m.group(1));
      boolean percent = !m.group(2).isEmpty();
      if (n < minimum) {
        throw setting.invalid(impossible);
      }
      if (percent && n > maxPercent) {
        throw setting.invalid(n > 100 || impossible == null
            ? "a percentage is between " + minimum + "% and " + maxPercent + "%" : impossible);
      }
      return percent ? new Amount(null, n) : new Amount(n, null);
    }

    /** A duration in whole seconds, at most a week; 0 allowed unless {@code positive}. */
    private static Long seconds(Setting setting, boolean positive) {
      if (!setting.set()) {
        return null;
      }
      if (setting.text().startsWith("-")) {
        throw setting.invalid("it must not be negative: write " + (positive ? "" : "0s for none, or ")
            + Quantities.DURATION_FORMS);
      }
      Duration duration;
      try {
        duration = Quantities.parseDuration(setting.text());
      } catch (IllegalArgumentException e) {
        throw setting.invalid("write " + Quantities.DURATION_FORMS);
      }
      if (duration.getNano() != 0) {
        throw setting.invalid("whole seconds only, e.g. 30s or 5m");
      }
      if (positive && duration.isZero()) {
        throw setting.invalid("it must be at least 1s, e.g. 5m");
      }
      if (duration.getSeconds() > RolloutPlan.MAX_BAKE_SECONDS) {
        throw setting.invalid("more than a week is a mistake, not a plan: write at most 7d");
      }
      return duration.getSeconds();
    }

    private static Double factor(Setting setting) {
      if (!setting.set()) {
        return null;
      }
      if (!FACTOR.matcher(setting.text()).matches()) {
        throw setting.invalid("write a factor of the baseline between 1 and 1000, e.g. 3 or 1.5");
      }
      double value = Double.parseDouble(setting.text());
      if (value < 1 || value > 1000) {
        throw setting.invalid("a factor is between 1 (any worsening counts) and 1000, e.g. 3 (three times the"
            + " baseline)");
      }
      return value;
    }
  }
}
