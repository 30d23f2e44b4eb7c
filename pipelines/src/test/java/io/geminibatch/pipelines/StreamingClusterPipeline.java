package io.geminibatch.pipelines;

import io.geminibatch.connector.GeminiBatchIO;
import io.geminibatch.connector.GenerateRequest;
import io.geminibatch.connector.GenerateResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * A user's streaming pipeline, as the cluster test ({@code StreamingFlinkClusterIT}) ships it to a
 * Flink session cluster: a jar of this class beside the command line's jar (which brings the
 * connector, Beam and its Flink runner), run with {@code java -cp}; the Flink runner stages both.
 *
 * <p>Ticks without end ({@link GenerateSequence} at one a tick), the first {@code ticks} turned into the same prompts on every run (the tick's
 * timestamp names them, so a replay after a restore is checked key by key), through {@code
 * generate()}; the responses go through fixed windows and a GroupByKey, and each window's groups
 * are written as {@code key TAB count TAB answer} lines with windowed writes into {@code
 * OUTPUT/responses*} (failures into {@code OUTPUT/failures*}). A key answered twice
 * shows as a count of 2 or as two lines; a response dropped as late, as a missing key. With
 * {@code --attachedMode=false} the command returns once the job is submitted.
 *
 * <p>Its own arguments ({@code --gb.NAME=VALUE}) come first; the rest are Beam's.
 */
public final class StreamingClusterPipeline {
  private StreamingClusterPipeline() {}

  /** The prompt of key {@code k<i>}. */
  public static String prompt(int i) {
    return "Streaming prompt number " + i + ": what follows " + i + "?";
  }

  public static void main(String[] args) {
    Map<String, String> own = new HashMap<>();
    List<String> beam = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--gb.")) {
        int eq = a.indexOf('=');
        own.put(a.substring(5, eq), a.substring(eq + 1));
      } else {
        beam.add(a);
      }
    }
    PipelineOptions options = PipelineOptionsFactory.fromArgs(beam.toArray(new String[0])).withValidation().create();
    int ticks = Integer.parseInt(own.get("ticks"));
    int perTick = Integer.parseInt(own.get("promptsPerTick"));
    long tickMillis = Long.parseLong(own.get("tickMillis"));
    Instant start = Instant.now();

    Pipeline p = Pipeline.create(options);
    GeminiBatchIO.GenerateResult result =
        p.apply(
                "Ticks",
                // Ticks without end: the first ones bring the prompts, the rest keep time (and the
                // watermark) going, as a real stream's source does; the job runs until cancelled.
                // An unbounded source with a checkpoint mark (tick i at start + i ticks), not
                // PeriodicImpulse: restored on this cluster, PeriodicImpulse's splittable DoFn
                // sometimes held its output watermark at the start of time for good (seen in 2 of 3
                // runs: the step after it read -inf from then on), so no window ever closed.
                GenerateSequence.from(0)
                    .withRate(1, Duration.millis(tickMillis))
                    .withTimestampFn(new TickTime(start, tickMillis)))
            .apply("AsTickTime", MapElements.into(TypeDescriptor.of(Instant.class)).via(new TickTime(start, tickMillis)))
            .apply("Prompts", ParDo.of(new PromptsFn(start, tickMillis, perTick, ticks)))
            .apply(
                GeminiBatchIO.generate()
                    .withModel("gemini-2.5-flash")
                    .withApiKey(own.get("apiKey"))
                    .withBaseUrl(own.get("baseUrl"))
                    .withStagingLocation(own.get("staging"))
                    .withPollInterval(Duration.millis(200))
                    .withMaxRequestsPerJob(Long.parseLong(own.get("maxRequestsPerJob")))
                    .withMaxBufferingDuration(Duration.millis(Long.parseLong(own.get("bufferingMillis")))));
    result
        .getResponses()
        .apply(
            "KeyAndAnswer",
            MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((GenerateResponse r) -> KV.of(r.getKey(), r.getText())))
        .apply(
            "FixedWindows",
            // An allowed lateness: after a restore, Beam 2.70's Flink runner can release a batch
            // held back for stable input behind the watermark (see the README); its responses
            // then come in a late pane of their window instead of being dropped.
            Window.<KV<String, String>>into(FixedWindows.of(Duration.millis(Long.parseLong(own.get("windowMillis")))))
                .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
                .withAllowedLateness(Duration.standardMinutes(10))
                .discardingFiredPanes())
        .apply("ByKey", GroupByKey.create())
        .apply(
            "AsLines",
            MapElements.into(TypeDescriptors.strings())
                .via(
                    (KV<String, Iterable<String>> g) -> {
                      int n = 0;
                      String answer = null;
                      for (String a : g.getValue()) {
                        n++;
                        answer = a;
                      }
                      return g.getKey() + "\t" + n + "\t" + answer;
                    }))
        .apply("Write", TextIO.write().to(own.get("output") + "/responses").withWindowedWrites().withNumShards(1));
    if (own.containsKey("trace")) {
      // Not exactly once (a side effect): every response that came out, before any window.
      result.getResponses().apply("Trace", ParDo.of(new TraceFn(own.get("trace"))));
    }
    result
        .getFailures()
        .apply("FailureLines", MapElements.into(TypeDescriptors.strings()).via(f -> f.getKey() + "\t" + f.getMessage()))
        .apply(
            "FailureWindows",
            Window.<String>into(FixedWindows.of(Duration.standardSeconds(10)))
                .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
                .withAllowedLateness(Duration.standardMinutes(10))
                .discardingFiredPanes())
        .apply("WriteFailures", TextIO.write().to(own.get("output") + "/failures").withWindowedWrites().withNumShards(1));
    PipelineResult run = p.run();
    if (!options.as(FlinkPipelineOptions.class).getAttachedMode()) {
      System.out.println("streaming pipeline: submitted");
      return;
    }
    PipelineResult.State state = run.waitUntilFinish();
    System.out.println("streaming pipeline: " + state);
    if (state != PipelineResult.State.DONE) {
      System.exit(1);
    }
  }

  /** Appends the keys of the responses it sees to a file of its own in {@code dir}. */
  static final class TraceFn extends DoFn<GenerateResponse, Void> {
    private final String dir;
    private transient java.io.Writer out;

    TraceFn(String dir) {
      this.dir = dir;
    }

    @Setup
    public void setup() throws java.io.IOException {
      out =
          java.nio.file.Files.newBufferedWriter(
              java.nio.file.Files.createDirectories(java.nio.file.Path.of(dir)).resolve("trace-" + java.util.UUID.randomUUID()));
    }

    @ProcessElement
    public void process(@Element GenerateResponse r, @Timestamp Instant ts) throws java.io.IOException {
      out.write(r.getKey() + "\t" + ts + "\n");
      out.flush();
    }

    @Teardown
    public void teardown() throws java.io.IOException {
      if (out != null) {
        out.close();
      }
    }
  }

  /** Tick {@code i}'s time: {@code start + i * tickMillis}. */
  static final class TickTime implements SerializableFunction<Long, Instant> {
    private final Instant start;
    private final long tickMillis;

    TickTime(Instant start, long tickMillis) {
      this.start = start;
      this.tickMillis = tickMillis;
    }

    @Override
    public Instant apply(Long i) {
      return start.plus(Duration.millis(i * tickMillis));
    }
  }

  /** A tick's prompts: tick {@code t} emits keys {@code k(t*perTick) .. k((t+1)*perTick - 1)}. */
  static final class PromptsFn extends DoFn<Instant, GenerateRequest> {
    private final Instant start;
    private final long tickMillis;
    private final int perTick;
    private final int ticks;

    PromptsFn(Instant start, long tickMillis, int perTick, int ticks) {
      this.start = start;
      this.tickMillis = tickMillis;
      this.perTick = perTick;
      this.ticks = ticks;
    }

    @ProcessElement
    public void process(@Element Instant t, OutputReceiver<GenerateRequest> out) {
      int tick = (int) ((t.getMillis() - start.getMillis()) / tickMillis);
      if (tick >= ticks) {
        return;
      }
      for (int i = tick * perTick; i < (tick + 1) * perTick; i++) {
        out.output(GenerateRequest.ofPrompt("k" + i, prompt(i)));
      }
    }
  }
}
