package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;

/**
 * A failure the user fixes in the configuration (a missing key, repository or payload, an
 * immutable version): the message names the XML element and the fix. Adapters report it as the
 * user's to fix, whatever its code.
 */
public class ConfigurationException extends UpgradeException {
  private static final long serialVersionUID = 1L;

  public ConfigurationException(ErrorCode code, String message) {
    super(code, message);
  }

  public ConfigurationException(ErrorCode code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
