package io.geminibatch.connector;

import java.io.IOException;
import java.util.function.Consumer;

/** Turns every request of a shard into a failure with one reason (refused or failed job). */
final class ShardFailures {
  private ShardFailures() {}

  static void emit(
      ShardRef shard,
      GenerateFailure.Stage stage,
      int code,
      String message,
      String jobName,
      Consumer<GenerateFailure> out,
      StageMetrics metrics)
      throws IOException {
    try (ShardLines lines = new ShardLines(shard.stagedPath)) {
      while (lines.next()) {
        metrics.failures.inc();
        out.accept(
            new GenerateFailure(
                lines.key(), lines.requestJson(), stage, code, message, jobName, shard.attempt));
      }
    }
  }
}
