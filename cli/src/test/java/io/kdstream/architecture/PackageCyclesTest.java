package io.kdstream.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.ArchConfiguration;
import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.junit.jupiter.api.BeforeAll;
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

    private static JavaClasses main;

    @BeforeAll
    static void importMainCode() {
        // only our classes: resolving every referenced DJL, Kafka and JDK class would take seconds
        ArchConfiguration.get().setResolveMissingDependenciesFromClassPath(false);
        main = new ClassFileImporter().withImportOption(MAIN_CODE).importPackages("io.kdstream");
    }

    @Test
    void theMainCodeHasNoPackageCycle() {
        slices().matching("io.kdstream.(*)..").should().beFreeOfCycles().check(main);
    }

    /** The wire codec and the VkD math know nothing of our Kafka helpers, the manifest or how a service runs. */
    @Test
    void theCodecAndTheVkdMathImportNoKafkaNorServicePackage() {
        noClasses().that().resideInAnyPackage("io.kdstream.codec..", "io.kdstream.vkd..", "io.kdstream.autograd..")
                .should().dependOnClassesThat().resideInAnyPackage("io.kdstream.kafka..", "io.kdstream.service..",
                        "io.kdstream.manifest..")
                .check(main);
    }

    /**
     * No constructor or method of the main code takes more than 8 parameters, outside records of
     * plain data (and compiler-made lambda bodies, and native bindings of C functions): a longer list
     * is a record or a builder.
     */
    @Test
    void noConstructorOrMethodTakesMoreThanEightParameters() {
        codeUnits().that().areDeclaredInClassesThat(DescribedPredicate.describe("are not records", c -> !c.isRecord()))
                .should(new ArchCondition<JavaCodeUnit>("take at most 8 parameters") {
                    @Override
                    public void check(JavaCodeUnit unit, ConditionEvents events) {
                        int n = unit.getRawParameterTypes().size();
                        // a native method binds a C function and takes its parameters as C declares them
                        if (n > 8 && !unit.getModifiers().contains(JavaModifier.SYNTHETIC)
                                && !unit.getModifiers().contains(JavaModifier.NATIVE)) {
                            events.add(SimpleConditionEvent.violated(unit, unit.getFullName() + " takes " + n));
                        }
                    }
                })
                .check(main);
    }
}
