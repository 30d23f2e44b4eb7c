package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.GeminiBatchClients;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The await step's retries, driven as a runner drives a splittable DoFn: one shard's element
 * through every attempt its faults call for (jobs that fail, requests with retryable errors, up to
 * three attempts), checkpointed after every {@code n}th claim and resumed from the residual, for
 * each {@code n} from 1 up, beside the same element never checkpointed (the oracle). Each time
 * every key ends once (a response or a failure), no job is created twice, every job created goes
 * to cleanup once, and each restriction the DoFn returns from is done or left as a residual; and
 * the same element run again from the start (a rerun of a stopped command) creates nothing and
 * ends every key as the first run did.
 */
class AwaitRetriesTest {
  static final int REQUESTS = 60;

  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ZERO).seed(2027).build();

  @TempDir Path staging;

  @Test
  void everyKeyEndsOnceWhereverTheRetriesAreCheckpointedThroughFiles() throws Exception {
    sweep(false);
  }

  @Test
  void everyKeyEndsOnceWhereverTheRetriesAreCheckpointedInline() throws Exception {
    sweep(true);
  }

  private void sweep(boolean inline) throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(Faults.builder().jobFailureRate(0.35).requestErrorRate(0.25).build());
    BatchSettings settings =
        TestPipelines.generate(emulator, staging)
            .withMaxAttempts(3)
            .withInlineThresholdBytes(inline ? 1 << 20 : 0)
            // Several result blocks per job: more positions to checkpoint at.
            .withResultBlockBytes(1024)
            .settings(TestPipelines.direct(), "GENERATE");
    int wholeRetries = 0;
    int requestRetries = 0;
    for (int every = 0; every <= 24; every++) {
      SubmittedJob element = shard(settings, (inline ? "inline" : "file") + every, inline);
      Chain chain = run(settings, element, every);
      assertEquals(REQUESTS, chain.responses.size() + chain.failures.size(), "every key ends: checkpoint every " + every);
      Set<String> ended = new HashSet<>(chain.responses);
      for (GenerateFailure f : chain.failures) {
        assertTrue(ended.add(f.getKey()), "key ended twice: " + f.getKey() + ", checkpoint every " + every);
        assertTrue(f.getAttempts() <= 3, f.toString());
        if (f.getErrorCode() == 13) {
          assertEquals(3, f.getAttempts(), "a retryable failure gets every attempt: " + f);
        } else if (f.getErrorCode() == 3) {
          assertEquals(3, Integer.parseInt(f.getKey().replaceAll(".*-k", "")) % 7, "only the requests without contents are invalid: " + f);
        }
      }
      assertEquals(REQUESTS, ended.size(), "keys ended twice: checkpoint every " + every);
      // Each job once to cleanup; the shard kept only when the next attempt sends it again.
      Set<String> cleaned = new HashSet<>();
      for (CompletedJob c : chain.completed) {
        assertTrue(cleaned.add(c.job.jobName), "cleaned up twice: " + c.job.jobName);
        wholeRetries += c.shardRetried ? 1 : 0;
      }
      requestRetries += (int) chain.completed.stream().filter(c -> !c.shardRetried).count() - 1;
      // A rerun of the stopped command: the same element from the start, the ledger as the first
      // run left it (the command line cleans up only once everything is written). It walks the
      // same attempts, reattaching to each job, and ends every key the same way.
      long created = emulator.stats().batchesCreated();
      Chain again = run(settings, element, 0);
      assertEquals(created, emulator.stats().batchesCreated(), "a rerun created jobs: checkpoint every " + every);
      assertEquals(new HashSet<>(chain.responses), new HashSet<>(again.responses));
      assertEquals(keys(chain.failures), keys(again.failures));
      assertEquals(chain.completed.size(), again.completed.size());
    }
    emulator.stats().createsByDisplayName().forEach((name, n) -> assertEquals(1L, n.longValue(), "created twice: " + name));
    assertEquals(emulator.stats().createsByDisplayName().size(), emulator.stats().batchesCreated());
    assertTrue(wholeRetries > 0, "no failed job was retried: the faults did not exercise it");
    assertTrue(requestRetries > 0, "no retry shard was sent: the faults did not exercise it");
  }

  private static Set<String> keys(List<GenerateFailure> failures) {
    Set<String> keys = new HashSet<>();
    failures.forEach(f -> keys.add(f.getKey() + " " + f.getErrorCode() + " " + f.getAttempts()));
    return keys;
  }

  /** A staged shard of REQUESTS requests and its first job, created as the submit step does. */
  private static SubmittedJob shard(BatchSettings settings, String name, boolean inline) throws Exception {
    Path dir = Files.createDirectories(Path.of(settings.stagingDir, "shards"));
    Path file = dir.resolve(name + ".jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < REQUESTS; i++) {
      lines.append("{\"key\":\"").append(name).append("-k").append(i).append("\",\"request\":");
      if (i % 7 == 3) {
        // The service answers INVALID_ARGUMENT (not retryable) beside the retryable errors.
        lines.append("{\"contents\":[]}}\n");
      } else {
        lines.append("{\"contents\":[{\"parts\":[{\"text\":\"prompt ").append(name).append(' ').append(i).append("\"}]}]}}\n");
      }
    }
    Files.writeString(file, lines.toString(), StandardCharsets.UTF_8);
    String id = String.format("%032x", new java.math.BigInteger(1, java.security.MessageDigest.getInstance("SHA-256")
        .digest(name.getBytes(StandardCharsets.UTF_8))).shiftRight(128));
    ShardRef shard = new ShardRef(id, file.toString(), REQUESTS, Files.size(file), 1, inline);
    JobSubmitter.Outcome first =
        new JobSubmitter<>(settings, new GenerateKind(null, null), new StageMetrics(), GeminiBatchClients.forConfig(settings.client))
            .submit(shard, null);
    assertEquals(JobSubmitter.Outcome.Type.JOB, first.type, first.why);
    return new SubmittedJob(shard, first.jobName, first.inputFile, System.currentTimeMillis());
  }

  static final class Chain {
    final List<String> responses = new ArrayList<>();
    final List<GenerateFailure> failures = new ArrayList<>();
    final List<CompletedJob> completed = new ArrayList<>();
  }

  /**
   * Runs the element to its end as a runner would: each call on the restriction left by the one
   * before, checkpointed after its {@code every}th successful claim (0: only when the DoFn asks to
   * resume), the residual taken as the next call's restriction.
   */
  private static Chain run(BatchSettings settings, SubmittedJob element, int every) throws Exception {
    TupleTag<ResponseBatch<GenerateResponse>> responses = new TupleTag<ResponseBatch<GenerateResponse>>() {};
    AwaitJobFn<GenerateResponse> fn = new AwaitJobFn<>(settings, new GenerateKind(null, null), responses);
    fn.setup();
    Outputs out = new Outputs();
    OffsetRange restriction = fn.initialRestriction(element);
    for (int call = 0; restriction != null; call++) {
      assertTrue(call < 10_000, "the element never ended");
      CheckpointingTracker tracker = new CheckpointingTracker(new AwaitJobFn.CheckpointOnlyTracker(restriction), every);
      DoFn.ProcessContinuation c = fn.process(element, tracker, out);
      if (tracker.split != null) {
        tracker.inner.checkDone();
        restriction = tracker.split.getResidual();
      } else if (c.shouldResume()) {
        SplitResult<OffsetRange> checkpoint = tracker.inner.trySplit(0);
        assertNotNull(checkpoint, "a resume the runner cannot checkpoint");
        tracker.inner.checkDone();
        restriction = checkpoint.getResidual();
      } else {
        tracker.inner.checkDone();
        restriction = null;
      }
    }
    Chain chain = new Chain();
    for (Object batch : out.of(responses)) {
      @SuppressWarnings("unchecked")
      ResponseBatch<GenerateResponse> b = (ResponseBatch<GenerateResponse>) batch;
      for (GenerateResponse r : b) {
        chain.responses.add(r.getKey());
      }
    }
    for (Object event : out.of(AwaitJobFn.EVENTS)) {
      JobEvent e = (JobEvent) event;
      if (e.failure() != null) {
        chain.failures.add(e.failure());
      } else {
        chain.completed.add(e.completedJob());
      }
    }
    return chain;
  }

  /** Takes the runner's checkpoint after every {@code every}th successful claim of a call. */
  static final class CheckpointingTracker extends RestrictionTracker<OffsetRange, Long> {
    final AwaitJobFn.CheckpointOnlyTracker inner;
    private final int every;
    private int claims;
    SplitResult<OffsetRange> split;

    CheckpointingTracker(AwaitJobFn.CheckpointOnlyTracker inner, int every) {
      this.inner = inner;
      this.every = every;
    }

    @Override
    public boolean tryClaim(Long position) {
      if (split == null && every > 0 && claims == every) {
        split = inner.trySplit(0);
      }
      boolean claimed = inner.tryClaim(position);
      if (claimed) {
        claims++;
      }
      return claimed;
    }

    @Override
    public OffsetRange currentRestriction() {
      return inner.currentRestriction();
    }

    @Override
    public SplitResult<OffsetRange> trySplit(double fractionOfRemainder) {
      return inner.trySplit(fractionOfRemainder);
    }

    @Override
    public void checkDone() {
      inner.checkDone();
    }

    @Override
    public IsBounded isBounded() {
      return inner.isBounded();
    }
  }

  /** What a DoFn outputs, by tag. */
  static final class Outputs implements DoFn.MultiOutputReceiver {
    private final Map<TupleTag<?>, List<Object>> byTag = new HashMap<>();

    List<Object> of(TupleTag<?> tag) {
      return byTag.getOrDefault(tag, List.of());
    }

    @Override
    public <T> DoFn.OutputReceiver<T> get(TupleTag<T> tag) {
      List<Object> sink = byTag.computeIfAbsent(tag, t -> new ArrayList<>());
      return value -> builder(value, sink);
    }

    @Override
    public <T> DoFn.OutputReceiver<Row> getRowReceiver(TupleTag<T> tag) {
      throw new UnsupportedOperationException();
    }

    @SuppressWarnings("unchecked")
    private static <T> OutputBuilder<T> builder(T value, List<Object> sink) {
      return (OutputBuilder<T>)
          Proxy.newProxyInstance(
              OutputBuilder.class.getClassLoader(),
              new Class<?>[] {OutputBuilder.class},
              (proxy, method, args) -> {
                if (method.getName().equals("output")) {
                  sink.add(value);
                  return null;
                }
                if (method.getReturnType() == OutputBuilder.class) {
                  return proxy;
                }
                throw new UnsupportedOperationException(method.getName());
              });
    }
  }
}
