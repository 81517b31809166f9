package io.upgradekit.plugin.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shape of the plugin, as rules the build checks (STYLE.md 14): it depends on release-schema
 * and no other program, the Mojos are the only classes that know the Maven API (the libraries in
 * {@code release}, {@code set} and {@code plan} take one immutable request), there are no package cycles, and nothing renames
 * or links repository files but release-schema's store.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.upgradekit.plugin");
  }

  @Test
  void dependsOnNoOtherProgram() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.updater..", "io.upgradekit.server..",
        "io.upgradekit.it..", "org.eclipse.jetty..", "picocli..").check(classes);
  }

  @Test
  void theLibraryKnowsNoMavenApi() {
    noClasses().that().resideInAnyPackage("io.upgradekit.plugin.release..", "io.upgradekit.plugin.set..",
            "io.upgradekit.plugin.plan..")
        .should().dependOnClassesThat().resideInAnyPackage("org.apache.maven..", "org.codehaus.plexus..")
        .check(classes);
  }

  /**
   * repository-s3 is a library beside release-schema, so the plugin may publish into a bucket; one
   * class opens the store ({@code Repositories}), everything else sees release-schema's
   * RepositoryStore, and nothing outside repository-s3 touches the AWS SDK.
   */
  @Test
  void onlyRepositoriesOpensTheObjectStore() {
    noClasses().that().doNotHaveFullyQualifiedName("io.upgradekit.plugin.release.Repositories")
        .should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.store.s3..").check(classes);
    noClasses().should().dependOnClassesThat().resideInAnyPackage("software.amazon..").check(classes);
  }

  @Test
  void hasNoPackageCycles() {
    slices().matching("io.upgradekit.plugin.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void nothingRenamesOrLinksFilesButTheStore() {
    // Payloads links the build's artifact into a private scratch tree (never into a repository).
    noClasses().that().doNotHaveFullyQualifiedName("io.upgradekit.plugin.release.Payloads")
        .should().callMethod(Files.class, "move", Path.class, Path.class, CopyOption[].class)
        .orShould().callMethod(Files.class, "createLink", Path.class, Path.class)
        .orShould().callMethod(Files.class, "createSymbolicLink", Path.class, Path.class, FileAttribute[].class)
        .orShould().accessField(StandardCopyOption.class, "ATOMIC_MOVE")
        .check(classes);
  }
}
