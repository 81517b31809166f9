package io.upgradekit.updater.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The updater's version, from the build (filtered resource), for {@code --version}. */
public final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() throws IOException {
    Properties p = new Properties();
    try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    }
    return new String[] {"updater " + p.getProperty("version", "unknown") + " (Java " + Runtime.version() + ")"};
  }
}
