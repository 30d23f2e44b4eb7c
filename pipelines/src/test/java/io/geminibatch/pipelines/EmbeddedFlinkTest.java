package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.flink.api.java.ExecutionEnvironment;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.junit.jupiter.api.Test;

/**
 * The embedded cluster started ahead of the job: the job runs on it (and it ends with the job), a
 * job wider than it gets a cluster of its own, a run that never reaches its job shuts it down, and
 * the context environment it sets is gone after every one of them.
 */
class EmbeddedFlinkTest {
  private static FlinkPipelineOptions options(int parallelism) {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(parallelism);
    options.setFlinkConfDir(Args.localFlinkConf().toString());
    return options;
  }

  static final class Square extends DoFn<Integer, Integer> {
    private final org.apache.beam.sdk.metrics.Counter seen = Metrics.counter("test", "seen");

    @ProcessElement
    public void process(@Element Integer i, OutputReceiver<Integer> out) {
      seen.inc();
      out.output(i * i);
    }
  }

  /** Runs 1..n squared through a shuffle on {@code options}; returns the elements seen. */
  private static long runSquares(FlinkPipelineOptions options, int n) {
    Pipeline p = Pipeline.create(options);
    List<Integer> in = IntStream.rangeClosed(1, n).boxed().collect(Collectors.toList());
    PCollection<Integer> squares =
        p.apply(Create.of(in)).apply(org.apache.beam.sdk.transforms.Reshuffle.viaRandomKey()).apply(ParDo.of(new Square()));
    PAssert.that(squares).containsInAnyOrder(in.stream().map(i -> i * i).collect(Collectors.toList()));
    PipelineResult result = p.run();
    assertEquals(PipelineResult.State.DONE, result.waitUntilFinish());
    long seen = 0;
    for (MetricResult<Long> c :
        result.metrics().queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.named("test", "seen")).build()).getCounters()) {
      seen += c.getAttempted();
    }
    return seen;
  }

  @Test
  void theJobRunsOnTheClusterStartedAheadAndEndsIt() throws Exception {
    FlinkPipelineOptions options = options(2);
    MiniCluster cluster;
    try (EmbeddedFlink flink = EmbeddedFlink.start(options)) {
      assertEquals("[auto]", options.getFlinkMaster());
      cluster = flink.cluster();
      assertEquals(1000, runSquares(options, 1000));
      assertSame(cluster, flink.usedBy());
    }
    // The job's client shuts its cluster down when the job ends.
    cluster.closeAsync().get(60, TimeUnit.SECONDS);
    assertFalse(cluster.isRunning());
    assertTrue(ExecutionEnvironment.areExplicitEnvironmentsAllowed(), "context environment reset");
  }

  @Test
  void aJobWiderThanTheClusterGetsOneOfItsOwn() throws Exception {
    FlinkPipelineOptions options = options(1);
    try (EmbeddedFlink flink = EmbeddedFlink.start(options)) {
      options.setParallelism(3);
      assertEquals(500, runSquares(options, 500));
      MiniCluster used = flink.usedBy();
      assertNotSame(flink.cluster(), used);
      flink.cluster().closeAsync().get(60, TimeUnit.SECONDS);
      assertFalse(flink.cluster().isRunning(), "the early cluster is shut down");
    }
    assertTrue(ExecutionEnvironment.areExplicitEnvironmentsAllowed(), "context environment reset");
  }

  @Test
  void aRunThatNeverReachesItsJobShutsTheClusterDown() throws Exception {
    FlinkPipelineOptions options = options(2);
    MiniCluster cluster;
    try (EmbeddedFlink flink = EmbeddedFlink.start(options)) {
      cluster = flink.cluster();
      assertFalse(ExecutionEnvironment.areExplicitEnvironmentsAllowed(), "context environment set");
    }
    assertTrue(ExecutionEnvironment.areExplicitEnvironmentsAllowed(), "context environment reset");
    cluster.closeAsync().get(60, TimeUnit.SECONDS);
    assertFalse(cluster.isRunning());
    // And the next run in this JVM starts its own.
    FlinkPipelineOptions next = options(2);
    try (EmbeddedFlink flink = EmbeddedFlink.start(next)) {
      assertEquals(10, runSquares(next, 10));
      assertSame(flink.cluster(), flink.usedBy());
    }
  }
}
