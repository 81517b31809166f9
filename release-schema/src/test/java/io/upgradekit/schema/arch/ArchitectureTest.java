package io.upgradekit.schema.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shape of release-schema, as rules the build checks (STYLE.md 14): it depends on no program
 * and no adapter library, its packages have no cycles, and only {@code schema.io} (the durable
 * writes) and the delta engine (which builds payload trees in staging) rename or link files.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.upgradekit.schema");
  }

  @Test
  void dependsOnNoProgramAndNoAdapterLibrary() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.updater..", "io.upgradekit.server..",
        "io.upgradekit.plugin..", "io.upgradekit.it..", "org.eclipse.jetty..", "picocli..", "org.apache.maven..")
        .check(classes);
  }

  @Test
  void hasNoPackageCycles() {
    slices().matching("io.upgradekit.schema.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void onlyTheDurableWritesAndTheDeltaEngineRenameOrLinkFiles() {
    noClasses().that().resideOutsideOfPackages("io.upgradekit.schema.io", "io.upgradekit.schema.delta..")
        .should().callMethod(Files.class, "move", Path.class, Path.class, java.nio.file.CopyOption[].class)
        .orShould().callMethod(Files.class, "createLink", Path.class, Path.class)
        .orShould().callMethod(Files.class, "createSymbolicLink", Path.class, Path.class,
            java.nio.file.attribute.FileAttribute[].class)
        .orShould().accessField(StandardCopyOption.class, "ATOMIC_MOVE")
        .check(classes);
  }
}
