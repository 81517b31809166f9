package io.upgradekit.schema.api;

/**
 * The answer to {@code PUT /v1/roots/<n>}. Schema {@code trust-root-result.schema.json}.
 *
 * @param created true if the trust root version was stored now (201), false if it was there (200)
 * @param version the trust root version
 */
public record TrustRootResult(boolean created, long version) {
  public TrustRootResult {
    Wire.positive(version, "version");
  }
}
