package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * The JUnit 5 extension, proven by running sample test classes with the JUnit engine itself.
 * (The samples are static nested classes: Surefire does not run them on their own.)
 */
class GeminiEmulatorExtensionTest {

  private static void runAndExpect(Class<?> sample, int tests) {
    EngineExecutionResults results =
        EngineTestKit.engine("junit-jupiter").selectors(selectClass(sample)).execute();
    String failures =
        results.allEvents().failed().stream()
            .map(e -> e.getTestDescriptor().getDisplayName() + ": " + e.getPayload().orElse(""))
            .collect(Collectors.joining("\n"));
    assertEquals("", failures);
    results.testEvents().assertStatistics(s -> s.succeeded(tests).failed(0));
  }

  @ExtendWith(GeminiEmulatorExtension.class)
  @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
  static class ExtendWithSample {
    static String baseUrl;

    @Test
    @Order(1)
    void firstTestChangesFaultsLatencyAndCounters(GeminiEmulator emulator) {
      baseUrl = emulator.baseUrl();
      assertTrue(baseUrl.matches("http://127\\.0\\.0\\.1:\\d+"), baseUrl);
      assertEquals(GeminiEmulatorExtension.DEFAULT_JOB_LATENCY, emulator.jobLatency());
      new Http(baseUrl).createInline("counted", "x");
      emulator.setFaults(Faults.builder().throttleRate(1).build());
      emulator.setJobLatency(Duration.ofHours(1));
      new Http(baseUrl).get("/v1beta/batches").error(429, "RESOURCE_EXHAUSTED");
    }

    @Test
    @Order(2)
    void secondTestSeesTheClassConfigurationAgain(GeminiEmulator emulator) {
      assertEquals(baseUrl, emulator.baseUrl(), "one emulator per class");
      assertEquals(Faults.none(), emulator.faults());
      assertEquals(GeminiEmulatorExtension.DEFAULT_JOB_LATENCY, emulator.jobLatency());
      assertEquals(0, emulator.stats().batchesCreated(), "stats are reset before each test");
      new Http(baseUrl).get("/v1beta/batches").ok();
    }
  }

  @Test
  void extendWithInjectsOneEmulatorPerClassResetBeforeEachTestAndClosedAfter() {
    runAndExpect(ExtendWithSample.class, 2);
    String closed = ExtendWithSample.baseUrl;
    assertNotNull(closed);
    assertThrows(UncheckedIOException.class, () -> new Http(closed).get("/v1beta/batches"));
  }

  static class RegisteredSample {
    static final Faults FAULTS = Faults.builder().reorderInline(true).build();

    @RegisterExtension
    static final GeminiEmulatorExtension EMU =
        GeminiEmulatorExtension.builder()
            .jobLatency(Duration.ofMillis(200))
            .apiKey(Http.KEY)
            .faults(FAULTS)
            .build();

    static GeminiEmulator outer;

    @Test
    void staticFieldGivesTheConfiguredEmulator() {
      outer = EMU.emulator();
      assertEquals(Duration.ofMillis(200), outer.jobLatency());
      assertEquals(FAULTS, outer.faults());
      new Http(outer.baseUrl()).send("GET", "/v1beta/batches", null, "x-goog-api-key", "other")
          .error(400, "INVALID_ARGUMENT");
    }

    @Nested
    class Inner {
      @Test
      void nestedClassesShareTheEmulator(GeminiEmulator injected) {
        assertSame(EMU.emulator(), injected);
        new Http(injected.baseUrl()).get("/v1beta/batches").ok();
      }
    }
  }

  @Test
  void registerExtensionConfiguresTheEmulatorAndNestedClassesShareIt() {
    runAndExpect(RegisteredSample.class, 2);
    assertThrows(IllegalStateException.class, RegisteredSample.EMU::emulator, "closed after the class");
  }

  @Test
  void closeStopsTheServerAndDeletesTheTemporaryDataDir() throws Exception {
    GeminiEmulator emulator = GeminiEmulator.builder().start();
    Path dir = emulator.dataDir();
    new Http(emulator.baseUrl()).upload("bytes on disk", "x");
    assertTrue(Files.isDirectory(dir));
    emulator.close();
    assertFalse(Files.exists(dir));
    assertThrows(UncheckedIOException.class, () -> new Http(emulator.baseUrl()).get("/v1beta/batches"));
  }

  @Test
  void aGivenDataDirIsKept(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    try (GeminiEmulator emulator = GeminiEmulator.builder().dataDir(dir.resolve("data")).start()) {
      new Http(emulator.baseUrl()).upload("kept", "x");
    }
    assertTrue(Files.isDirectory(dir.resolve("data").resolve("files")));
  }
}
