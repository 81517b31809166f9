package io.upgradekit.server.arch;

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
 * The shape of repo-server, as rules the build checks (STYLE.md 14): it depends on release-schema
 * and no other program, its packages have no cycles, the core (and the rollout controller) know
 * neither Jetty nor picocli, and nothing renames or links files but release-schema's store and
 * {@code DurableFiles}. {@code PackageDependenciesTest} adds the one-way order of the packages.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.upgradekit.server");
  }

  @Test
  void dependsOnNoOtherProgram() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.updater..", "io.upgradekit.plugin..",
        "io.upgradekit.it..", "org.apache.maven..").check(classes);
  }

  /**
   * repository-s3 is a library beside release-schema, so the server may use it; but only where the
   * server is assembled (and the command line, which opens a store for node-credential): the core,
   * the fleet layer and the HTTP adapters see release-schema's RepositoryStore only, and nothing
   * outside repository-s3 touches the AWS SDK.
   */
  @Test
  void onlyTheAssemblyKnowsTheObjectStore() {
    noClasses().that().resideInAnyPackage("io.upgradekit.server.core..", "io.upgradekit.server.fleet..",
        "io.upgradekit.server.rollout..", "io.upgradekit.server.http..")
        .should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.store.s3..").check(classes);
    noClasses().should().dependOnClassesThat().resideInAnyPackage("software.amazon..").check(classes);
  }

  @Test
  void hasNoPackageCycles() {
    slices().matching("io.upgradekit.server.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void theCoreKnowsNeitherJettyNorPicocli() {
    noClasses().that().resideInAnyPackage("io.upgradekit.server.core..", "io.upgradekit.server.rollout..",
        "io.upgradekit.server.fleet..")
        .should().dependOnClassesThat().resideInAnyPackage("org.eclipse.jetty..", "picocli..").check(classes);
  }

  @Test
  void nothingButTheStoreRenamesOrLinksFiles() {
    noClasses().should().callMethod(Files.class, "move", Path.class, Path.class, CopyOption[].class)
        .orShould().callMethod(Files.class, "createLink", Path.class, Path.class)
        .orShould().callMethod(Files.class, "createSymbolicLink", Path.class, Path.class, FileAttribute[].class)
        .orShould().accessField(StandardCopyOption.class, "ATOMIC_MOVE")
        .check(classes);
  }
}
