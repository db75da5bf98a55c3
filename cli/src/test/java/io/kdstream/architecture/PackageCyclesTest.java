package io.kdstream.architecture;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.ArchConfiguration;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * No cycle between the top-level packages ({@code io.kdstream.<name>}) of the main code of every
 * module the cli sees (broker, common, teacher-producer, student-trainer, cli): a package a
 * contributor opens can be read without the packages that use it (docs/architecture.md).
 */
class PackageCyclesTest {

    /** Main code only: not this module's tests, nor common's test-jar. */
    private static final ImportOption MAIN_CODE = location -> !location.contains("/test-classes/")
            && !location.contains("-tests.jar");

    @Test
    void theMainCodeHasNoPackageCycle() {
        // only our classes: resolving every referenced DJL, Kafka and JDK class would take seconds
        ArchConfiguration.get().setResolveMissingDependenciesFromClassPath(false);
        JavaClasses main = new ClassFileImporter().withImportOption(MAIN_CODE).importPackages("io.kdstream");
        slices().matching("io.kdstream.(*)..").should().beFreeOfCycles().check(main);
    }
}
