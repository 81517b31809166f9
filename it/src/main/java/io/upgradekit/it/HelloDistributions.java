package io.upgradekit.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Builds hello-service distribution trees for other versions without running Maven: a copy of the
 * built distribution whose jar carries another {@code build.properties} (version, greeting,
 * healthy, error rate), exactly what {@code mvn package -Dupgrade.version=... -Dhello.greeting=...
 * -Dhello.healthy=... -Dhello.errorRate=... -Dhello.errorsAfter=...} changes; the same for the example
 * shop's components ({@link ServiceDistribution}). Used by {@link LibraryReleaser}.
 */
public final class HelloDistributions {
  static final String BUILD_PROPERTIES = "io/upgradekit/examples/hello/build.properties";

  private HelloDistributions() {}

  /**
   * Copies {@code baseDist} to {@code out} (which must not exist) and rewrites the service jar's
   * {@code build.properties} for {@code build}.
   *
   * @return {@code out}
   */
  public static Path variant(Path baseDist, Path out, HelloBuild build) {
    return variant(new ServiceDistribution("hello", baseDist, "hello-service-", BUILD_PROPERTIES, "bin/hello-service",
        "hello-service"), out, build, buildProperties(build));
  }

  /**
   * The same for any service of hello-service's code (a component of the example shop): its jar's
   * build info rewritten for {@code build}, with the service's name.
   */
  public static Path variant(ServiceDistribution service, Path out, HelloBuild build) {
    return variant(service, out, build, buildProperties(build) + "name=" + escape(service.name()) + "\n");
  }

  private static Path variant(ServiceDistribution service, Path out, HelloBuild build, String properties) {
    try {
      if (Files.exists(out)) {
        throw new HarnessException(out + " exists already");
      }
      copyTree(service.dist(), out);
      Path jar = serviceJar(out.resolve("lib"), service.jarPrefix());
      Path rewritten = jar.resolveSibling(jar.getFileName() + ".tmp");
      rewriteJar(jar, rewritten, service.buildResource(), properties);
      Files.move(rewritten, jar, StandardCopyOption.REPLACE_EXISTING);
      return out;
    } catch (IOException e) {
      throw new HarnessException("cannot build " + service.name() + " " + build.version() + " in " + out + ": " + e, e);
    }
  }

  static String buildProperties(HelloBuild build) {
    return "version=" + escape(build.version()) + "\ngreeting=" + escape(build.greeting()) + "\nhealthy="
        + build.healthy() + "\nerrorRate=" + build.errorRate() + "\nerrorsAfter=" + build.errorsAfterSeconds() + "\n";
  }

  private static Path serviceJar(Path lib, String prefix) throws IOException {
    try (DirectoryStream<Path> jars = Files.newDirectoryStream(lib, prefix + "*.jar")) {
      for (Path jar : jars) {
        return jar;
      }
    }
    throw new HarnessException(lib + " holds no " + prefix + "*.jar: is it that service's distribution?");
  }

  private static void rewriteJar(Path jar, Path out, String resource, String properties) throws IOException {
    boolean found = false;
    try (ZipFile in = new ZipFile(jar.toFile());
        OutputStream file = Files.newOutputStream(out);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      for (Enumeration<? extends ZipEntry> e = in.entries(); e.hasMoreElements(); ) {
        ZipEntry entry = e.nextElement();
        ZipEntry copy = new ZipEntry(entry.getName());
        copy.setTime(entry.getTime());
        zip.putNextEntry(copy);
        if (entry.getName().equals(resource)) {
          zip.write(properties.getBytes(StandardCharsets.ISO_8859_1));
          found = true;
        } else if (!entry.isDirectory()) {
          try (InputStream body = in.getInputStream(entry)) {
            body.transferTo(zip);
          }
        }
        zip.closeEntry();
      }
    }
    if (!found) {
      throw new HarnessException(jar + " has no " + resource);
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  /** java.util.Properties escaping for the few characters a greeting could hold. */
  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      switch (c) {
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '=', ':', '#', '!' -> b.append('\\').append(c);
        default -> {
          if (c > 0x7e) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }
}
