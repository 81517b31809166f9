package io.upgradekit.store.s3;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shape of repository-s3 (STYLE.md 14): a library beside release-schema that no program's
 * code is in, which reaches the store only through the SDK's URL-connection client and writes no
 * local files.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.upgradekit.store.s3");
  }

  @Test
  void dependsOnNoProgramAndNoOtherHttpClient() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.upgradekit.updater..", "io.upgradekit.server..",
        "io.upgradekit.plugin..", "io.upgradekit.it..", "org.eclipse.jetty..", "picocli..", "org.apache.maven..",
        "software.amazon.awssdk.http.apache..", "software.amazon.awssdk.http.nio..", "io.netty..")
        .check(classes);
  }

  @Test
  void writesNoLocalFiles() {
    noClasses().should().callMethodWhere(com.tngtech.archunit.base.DescribedPredicate.describe("a write of Files",
        call -> call.getTarget().getOwner().isEquivalentTo(Files.class)
            && call.getTarget().getName().matches("write.*|newOutputStream|move|copy|createLink|createSymbolicLink")))
        .check(classes);
    noClasses().should().dependOnClassesThat().belongToAnyOf(java.io.FileOutputStream.class, Path.class)
        .check(classes);
  }
}
