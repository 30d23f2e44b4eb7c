package io.geminibatch.testing.vertex;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Map;

/** One batchPredictionJob and its life cycle; fields guarded by the job's monitor. */
final class VertexJob {
  enum State {
    JOB_STATE_PENDING(false),
    JOB_STATE_RUNNING(false),
    JOB_STATE_SUCCEEDED(true),
    JOB_STATE_FAILED(true),
    JOB_STATE_CANCELLING(false),
    JOB_STATE_CANCELLED(true),
    JOB_STATE_EXPIRED(true);

    final boolean terminal;

    State(boolean terminal) {
      this.terminal = terminal;
    }
  }

  /** What the dice decided at create time. */
  enum Fate {
    SUCCEED,
    FAIL,
    EXPIRE,
    STUCK
  }

  final String name;
  final String project;
  final String location;
  final String displayName;
  final String model;
  final JsonNode inputConfig;
  final JsonNode outputConfig;
  final Map<String, String> labels;
  final Instant createTime;
  final Fate fate;
  /** Seeds the job's rows: errors, duplicates, order. */
  final long seed;

  State state = State.JOB_STATE_PENDING;
  Instant updateTime;
  Instant startTime;
  Instant endTime;
  String outputDirectory;
  long successful;
  long failed;
  int errorCode;
  String errorMessage;

  VertexJob(
      String name,
      String project,
      String location,
      String displayName,
      String model,
      JsonNode inputConfig,
      JsonNode outputConfig,
      Map<String, String> labels,
      Instant createTime,
      Fate fate,
      long seed) {
    this.name = name;
    this.project = project;
    this.location = location;
    this.displayName = displayName;
    this.model = model;
    this.inputConfig = inputConfig;
    this.outputConfig = outputConfig;
    this.labels = labels;
    this.createTime = createTime;
    this.updateTime = createTime;
    this.fate = fate;
    this.seed = seed;
  }

  /** Moves to a terminal state unless the job is terminal already; true if it moved. */
  boolean end(State terminal, int code, String message, Instant now) {
    if (state.terminal) {
      return false;
    }
    state = terminal;
    errorCode = code;
    errorMessage = message;
    endTime = now;
    updateTime = now;
    return true;
  }

  /** The id: the last segment of the name, digits only. */
  String id() {
    return name.substring(name.lastIndexOf('/') + 1);
  }
}
