package io.geminibatch.testing;

import io.geminibatch.testing.gcs.GcsFaults;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one {@link GeminiEmulator} per test class, on a free port, closed after the
 * class. Before each test the stats are reset and the faults and job latency are set back to the
 * class's configuration (which also restarts the fault streams from the seed); Cloud Storage's
 * counters are reset and its faults cleared, its buckets and objects stay.
 *
 * <pre>{@code
 * @ExtendWith(GeminiEmulatorExtension.class)
 * class MyTest {
 *   @Test void t(GeminiEmulator emulator) { ... emulator.baseUrl() ... }
 * }
 *
 * class MyOtherTest {
 *   @RegisterExtension
 *   static final GeminiEmulatorExtension EMU =
 *       GeminiEmulatorExtension.builder().jobLatency(Duration.ofMillis(200)).build();
 *   @Test void t() { ... EMU.emulator().baseUrl() ... }
 * }
 * }</pre>
 *
 * <p>Used with {@code @ExtendWith}, the job latency is {@link #DEFAULT_JOB_LATENCY} (100 ms), so
 * that tests do not wait; everything else has {@link GeminiEmulator.Builder}'s defaults. Register
 * it on a static field: on an instance field, it would start one emulator per test.
 */
public final class GeminiEmulatorExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {
  /** Job latency of an extension that is not configured otherwise. */
  public static final Duration DEFAULT_JOB_LATENCY = Duration.ofMillis(100);

  private final String apiKey;
  private final Path dataDir;
  private final Duration jobLatency;
  private final Duration jobExpiry;
  private final long seed;
  private final Faults faults;
  private final Quota quota;
  private final boolean verbose;

  private GeminiEmulator emulator;
  private String startedBy;

  /** The extension with defaults, as {@code @ExtendWith(GeminiEmulatorExtension.class)} makes it. */
  public GeminiEmulatorExtension() {
    this(builder());
  }

  private GeminiEmulatorExtension(Builder b) {
    this.apiKey = b.apiKey;
    this.dataDir = b.dataDir;
    this.jobLatency = b.jobLatency;
    this.jobExpiry = b.jobExpiry;
    this.seed = b.seed;
    this.faults = b.faults;
    this.quota = b.quota;
    this.verbose = b.verbose;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The running emulator (between the class's beforeAll and afterAll). */
  public GeminiEmulator emulator() {
    if (emulator == null) {
      throw new IllegalStateException(
          "The Gemini emulator is not running: register GeminiEmulatorExtension on a static field"
              + " or with @ExtendWith, and use it inside the test class's lifecycle.");
    }
    return emulator;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    if (emulator != null) {
      return; // a @Nested class shares its enclosing class's emulator
    }
    emulator =
        GeminiEmulator.builder()
            .apiKey(apiKey)
            .dataDir(dataDir)
            .jobLatency(jobLatency)
            .jobExpiry(jobExpiry)
            .seed(seed)
            .faults(faults)
            .quota(quota)
            .verbose(verbose)
            .start();
    startedBy = context.getUniqueId();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (emulator != null && context.getUniqueId().equals(startedBy)) {
      try {
        emulator.close();
      } finally {
        emulator = null;
        startedBy = null;
      }
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    GeminiEmulator e = emulator();
    e.setFaults(faults);
    e.setQuota(quota);
    e.setJobLatency(jobLatency);
    e.resetStats();
    // Cloud Storage's faults and counters too (its buckets and objects stay, as jobs and files do).
    e.storage().setFaults(GcsFaults.none());
    e.storage().resetStats();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == GeminiEmulator.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return emulator();
  }

  /** Configures the extension's emulator; every setting is optional. */
  public static final class Builder {
    private String apiKey;
    private Path dataDir;
    private Duration jobLatency = DEFAULT_JOB_LATENCY;
    private Duration jobExpiry = GeminiEmulator.Builder.DEFAULT_JOB_EXPIRY;
    private long seed;
    private Faults faults = Faults.none();
    private Quota quota = Quota.none();
    private boolean verbose;

    private Builder() {}

    /** See {@link GeminiEmulator.Builder#apiKey(String)}. */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /** See {@link GeminiEmulator.Builder#dataDir(Path)}. */
    public Builder dataDir(Path dataDir) {
      this.dataDir = dataDir;
      return this;
    }

    /** Job latency restored before each test; default {@link #DEFAULT_JOB_LATENCY}. */
    public Builder jobLatency(Duration latency) {
      this.jobLatency = GeminiEmulator.checkLatency(latency);
      return this;
    }

    /** See {@link GeminiEmulator.Builder#jobExpiry(Duration)}. */
    public Builder jobExpiry(Duration expiry) {
      this.jobExpiry = GeminiEmulator.checkExpiry(expiry);
      return this;
    }

    /** See {@link GeminiEmulator.Builder#seed(long)}. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Faults restored before each test; default none. */
    public Builder faults(Faults faults) {
      this.faults = Objects.requireNonNull(faults, "faults");
      return this;
    }

    /** Quota restored before each test; default none (see {@link Quota}). */
    public Builder quota(Quota quota) {
      this.quota = Objects.requireNonNull(quota, "quota");
      return this;
    }

    /** See {@link GeminiEmulator.Builder#verbose(boolean)}. */
    public Builder verbose(boolean verbose) {
      this.verbose = verbose;
      return this;
    }

    public GeminiEmulatorExtension build() {
      return new GeminiEmulatorExtension(this);
    }
  }
}
