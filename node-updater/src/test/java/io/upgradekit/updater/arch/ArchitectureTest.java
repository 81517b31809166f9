package io.upgradekit.updater.arch;

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
 * The shape of node-updater, as rules the build checks (STYLE.md 14): it depends on release-schema
 * and no other program, its packages have no cycles, only {@code cli} knows picocli, and nothing
 * renames or links files but release-schema's {@code DurableFiles} (the version switch above all).
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.upgradekit.updater");
  }

  @Test
  void dependsOnNoOtherProgram() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.server..", "io.upgradekit.plugin..",
        "io.upgradekit.it..", "org.eclipse.jetty..", "org.apache.maven..").check(classes);
  }

  @Test
  void hasNoPackageCycles() {
    slices().matching("io.upgradekit.updater.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void onlyTheCommandLineKnowsPicocli() {
    noClasses().that().resideOutsideOfPackage("io.upgradekit.updater.cli..")
        .should().dependOnClassesThat().resideInAPackage("picocli..").check(classes);
  }

  @Test
  void nothingButDurableFilesRenamesOrLinksFiles() {
    noClasses().should().callMethod(Files.class, "move", Path.class, Path.class, CopyOption[].class)
        .orShould().callMethod(Files.class, "createLink", Path.class, Path.class)
        .orShould().callMethod(Files.class, "createSymbolicLink", Path.class, Path.class, FileAttribute[].class)
        .orShould().accessField(StandardCopyOption.class, "ATOMIC_MOVE")
        .check(classes);
  }
}
