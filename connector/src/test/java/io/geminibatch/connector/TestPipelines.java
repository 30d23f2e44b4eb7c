package io.geminibatch.connector;

import io.geminibatch.testing.GeminiEmulator;
import java.nio.file.Path;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.joda.time.Duration;

/** Real runners for the tests: the Direct Runner, and Flink embedded in this JVM. */
final class TestPipelines {
  static final String API_KEY = "test-key-5f1c0e9a";

  private TestPipelines() {}

  static Pipeline direct() {
    PipelineOptions options = PipelineOptionsFactory.create();
    options.setRunner(DirectRunner.class);
    return Pipeline.create(options);
  }

  static Pipeline flink() {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    return Pipeline.create(options);
  }

  /** generate() pointed at the emulator, with test-sized waits. */
  static GeminiBatchIO.Generate generate(GeminiEmulator emulator, Path staging) {
    return GeminiBatchIO.generate()
        .withModel("gemini-2.5-flash")
        .withApiKey(API_KEY)
        .withBaseUrl(emulator.baseUrl())
        .withStagingLocation(staging.toString())
        .withPollInterval(Duration.millis(20))
        .withRetryBackoff(java.time.Duration.ofMillis(5), java.time.Duration.ofMillis(50));
  }

  /** embed() pointed at the emulator, with test-sized waits. */
  static GeminiBatchIO.Embed embed(GeminiEmulator emulator, Path staging) {
    return GeminiBatchIO.embed()
        .withModel("gemini-embedding-001")
        .withApiKey(API_KEY)
        .withBaseUrl(emulator.baseUrl())
        .withStagingLocation(staging.toString())
        .withPollInterval(Duration.millis(20))
        .withRetryBackoff(java.time.Duration.ofMillis(5), java.time.Duration.ofMillis(50));
  }

  static PipelineResult run(Pipeline p) {
    PipelineResult result = p.run();
    result.waitUntilFinish();
    return result;
  }

  /** A counter of the connector's namespace, summed over steps (attempted values). */
  static long counter(PipelineResult result, String name) {
    MetricQueryResults q =
        result
            .metrics()
            .queryMetrics(
                MetricsFilter.builder()
                    .addNameFilter(MetricNameFilter.named(StageMetrics.NAMESPACE, name))
                    .build());
    long sum = 0;
    for (MetricResult<Long> c : q.getCounters()) {
      sum += c.getAttempted();
    }
    return sum;
  }
}
