package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.InventoryPage;
import io.upgradekit.schema.model.Names;
import io.upgradekit.server.core.Printable;
import java.util.Locale;

/**
 * The filter, order and page of {@code GET /v1/inventory}: the query parameters {@code app},
 * {@code version}, {@code channel}, {@code label=<key>=<value>}, {@code status} ({@code available},
 * {@code unavailable}, {@code unhealthy}, {@code updating}, {@code failed}), {@code q} (part of a
 * node id or label value), {@code sort} ({@code node}, {@code app}, {@code version}, {@code
 * lastHeartbeat}, {@code state}, {@code health}), {@code order} ({@code asc}, {@code desc}),
 * {@code offset} and {@code limit} (1 to {@value InventoryPage#MAX_LIMIT}, default {@value
 * #DEFAULT_LIMIT}). Every value is checked: a bad one is REQUEST_INVALID saying which.
 */
public record InventoryQuery(String app, String version, String channel, String labelKey, String labelValue,
    Status status, String text, Sort sort, boolean descending, int offset, int limit) {
  public static final int DEFAULT_LIMIT = 100;

  /** Which nodes {@code status} selects. */
  public enum Status {
    AVAILABLE, UNAVAILABLE, UNHEALTHY, UPDATING, FAILED
  }

  /** The order of the rows. */
  public enum Sort {
    NODE, APP, VERSION, LASTHEARTBEAT, STATE, HEALTH
  }

  public InventoryQuery {
    if (app != null) {
      Names.requireApp(app);
    }
    if (version != null) {
      Names.requireVersion(version);
    }
    if (channel != null) {
      Names.requireChannel(channel);
    }
    if (labelKey != null) {
      Names.requireLabelKey(labelKey);
      Names.requireLabelValue(labelValue);
    }
    if (text != null && text.length() > 64) {
      throw invalid("q is longer than 64 characters");
    }
    if (sort == null) {
      sort = Sort.NODE;
    }
    if (offset < 0 || offset > 10_000_000) {
      throw invalid("offset must be between 0 and 10000000");
    }
    if (limit < 1 || limit > InventoryPage.MAX_LIMIT) {
      throw invalid("limit must be between 1 and " + InventoryPage.MAX_LIMIT);
    }
  }

  /** Every node, by node id, the first page. */
  public static InventoryQuery all() {
    return new InventoryQuery(null, null, null, null, null, null, null, Sort.NODE, false, 0, DEFAULT_LIMIT);
  }

  /**
   * Reads the query parameters ({@code parameter.apply(name)} is the value or null).
   *
   * @throws UpgradeException REQUEST_INVALID or NAME_INVALID naming the parameter
   */
  public static InventoryQuery parse(java.util.function.Function<String, String> parameter) {
    String label = blank(parameter.apply("label"));
    String labelKey = null;
    String labelValue = null;
    if (label != null) {
      int eq = label.indexOf('=');
      if (eq < 1) {
        throw invalid("label must be <key>=<value>, e.g. label=zone=a");
      }
      labelKey = label.substring(0, eq);
      labelValue = label.substring(eq + 1);
    }
    String order = blank(parameter.apply("order"));
    if (order != null && !order.equals("asc") && !order.equals("desc")) {
      throw invalid("order must be asc or desc");
    }
    return new InventoryQuery(blank(parameter.apply("app")), blank(parameter.apply("version")),
        blank(parameter.apply("channel")), labelKey, labelValue,
        constant(Status.class, parameter.apply("status"), "status"), blank(parameter.apply("q")),
        constant(Sort.class, parameter.apply("sort"), "sort"), "desc".equals(order),
        number(parameter.apply("offset"), "offset", 0), number(parameter.apply("limit"), "limit", DEFAULT_LIMIT));
  }

  private static String blank(String value) {
    return value == null || value.isEmpty() ? null : value;
  }

  private static <E extends Enum<E>> E constant(Class<E> type, String value, String name) {
    if (blank(value) == null) {
      return null;
    }
    for (E e : type.getEnumConstants()) {
      if (e.name().toLowerCase(Locale.ROOT).equals(value.toLowerCase(Locale.ROOT))) {
        return e;
      }
    }
    StringBuilder allowed = new StringBuilder();
    for (E e : type.getEnumConstants()) {
      allowed.append(allowed.length() == 0 ? "" : ", ").append(e == Sort.LASTHEARTBEAT ? "lastHeartbeat"
          : e.name().toLowerCase(Locale.ROOT));
    }
    throw invalid(name + " '" + Printable.of(value) + "' is not one of " + allowed);
  }

  private static int number(String value, String name, int otherwise) {
    if (blank(value) == null) {
      return otherwise;
    }
    if (!value.matches("[0-9]{1,9}")) {
      throw invalid(name + " must be a number, not '" + Printable.of(value) + "'");
    }
    return Integer.parseInt(value);
  }

  private static UpgradeException invalid(String message) {
    return new UpgradeException(ErrorCode.REQUEST_INVALID, message + " (GET /v1/inventory)");
  }
}
