package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.NettyShuffleEnvironmentOptions;
import org.junit.jupiter.api.Test;

/** The runner chosen when {@code --runner} is not given, and the embedded Flink cluster's settings. */
class ArgsTest {
  private static final long LARGE = Args.FLINK_FROM_BYTES;

  private static FlinkPipelineOptions choose(long inputBytes, Map<String, String> env, String... args)
      throws UsageException {
    FlinkPipelineOptions options = Args.parseUnvalidated(args, FlinkPipelineOptions.class);
    Args.defaultRunner(args, options, inputBytes, env);
    return options;
  }

  @Test
  void aLargeInputRunsOnEmbeddedFlinkWithoutShuffleCompression() throws UsageException {
    FlinkPipelineOptions options = choose(LARGE, Map.of());
    assertEquals(FlinkRunner.class, options.getRunner());
    assertEquals("[local]", options.getFlinkMaster());
    assertEquals(Math.max(2, Runtime.getRuntime().availableProcessors()), options.getParallelism());

    // Flink itself reads the directory the command wrote: the setting must reach the cluster.
    assertTrue(new Configuration().get(NettyShuffleEnvironmentOptions.BATCH_SHUFFLE_COMPRESSION_ENABLED),
        "Flink's default compresses (else this setting is moot)");
    Configuration loaded = GlobalConfiguration.loadConfiguration(options.getFlinkConfDir());
    assertFalse(loaded.get(NettyShuffleEnvironmentOptions.BATCH_SHUFFLE_COMPRESSION_ENABLED));
  }

  @Test
  void theEmbeddedClusterRunsATaskPerCoreAndAtLeastTwo() {
    assertEquals(2, Args.defaultParallelism(1));
    assertEquals(2, Args.defaultParallelism(2));
    assertEquals(3, Args.defaultParallelism(3));
    assertEquals(16, Args.defaultParallelism(16));
  }

  @Test
  void theUsersFlinkConfigurationIsLeftAlone() throws UsageException {
    assertEquals("/etc/my-flink", choose(LARGE, Map.of(), "--flinkConfDir=/etc/my-flink").getFlinkConfDir());
    // FLINK_CONF_DIR is read by the runner itself when the option is not set.
    assertNull(choose(LARGE, Map.of("FLINK_CONF_DIR", "/etc/my-flink")).getFlinkConfDir());
    assertEquals(3, choose(LARGE, Map.of(), "--parallelism=3").getParallelism());
  }

  @Test
  void aSmallInputRunsOnTheDirectRunnerWithoutItsChecks() throws UsageException {
    FlinkPipelineOptions options = choose(LARGE - 1, Map.of());
    assertEquals(DirectRunner.class, options.getRunner());
    assertNull(options.getFlinkConfDir());
    org.apache.beam.runners.direct.DirectOptions direct = options.as(org.apache.beam.runners.direct.DirectOptions.class);
    assertFalse(direct.isEnforceImmutability());
    assertFalse(direct.isEnforceEncodability());
  }

  @Test
  void aFlinkMasterAloneRunsOnFlinkThereAtAnySize() throws UsageException {
    for (long bytes : new long[] {0, LARGE - 1, LARGE}) {
      FlinkPipelineOptions options = Args.parseUnvalidated(new String[] {"--flinkMaster=jm:8081"}, FlinkPipelineOptions.class);
      assertFalse(Args.defaultRunner(new String[] {"--flinkMaster=jm:8081"}, options, bytes, Map.of()), "no embedded cluster");
      assertEquals(FlinkRunner.class, options.getRunner());
      assertEquals("jm:8081", options.getFlinkMaster());
      assertNull(options.getFlinkConfDir());
    }
    assertTrue(Args.defaultRunner(new String[0], Args.parseUnvalidated(new String[0], FlinkPipelineOptions.class), LARGE, Map.of()));
  }

  @Test
  void anExplicitRunnerIsKept() throws UsageException {
    FlinkPipelineOptions options = choose(LARGE, Map.of(), "--runner=DirectRunner");
    assertEquals(DirectRunner.class, options.getRunner());
    assertNull(options.getFlinkConfDir());
  }

  @Test
  void streamingIsRefusedWithAReason() throws UsageException {
    Args.refuseStreaming(Args.parseUnvalidated(new String[] {"--streaming=false"}, FlinkPipelineOptions.class));
    UsageException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            UsageException.class,
            () -> Args.refuseStreaming(Args.parseUnvalidated(new String[] {"--streaming=true"}, FlinkPipelineOptions.class)));
    assertTrue(e.getMessage().startsWith("--streaming=true: the command line reads files"), e.getMessage());
  }
}
