package io.geminibatch.connector.client;

import java.time.Instant;
import java.util.Objects;

/**
 * What the connector needs of a batch Operation ({@code batches/*}), parsed from the raw REST
 * body. Unlike the official SDKs it keeps {@code batchStats}, {@code error} and the input file.
 * Inlined responses are not held here (they can be large): see {@link
 * GeminiBatchClient#readInlinedResponses}.
 */
public final class BatchJob {
  private final String name;
  private final String displayName;
  private final String model;
  private final BatchState state;
  private final String rawState;
  private final Instant createTime;
  private final Instant updateTime;
  private final Instant endTime;
  private final long requestCount;
  private final long successfulRequestCount;
  private final long failedRequestCount;
  private final long pendingRequestCount;
  private final String inputFileName;
  private final String responsesFile;
  private final boolean inlinedOutput;
  private final ApiStatus error;

  private BatchJob(Builder b) {
    this.name = Objects.requireNonNull(b.name, "name");
    this.displayName = b.displayName;
    this.model = b.model;
    this.rawState = b.rawState;
    this.state = BatchState.fromWire(b.rawState);
    this.createTime = b.createTime;
    this.updateTime = b.updateTime;
    this.endTime = b.endTime;
    this.requestCount = b.requestCount;
    this.successfulRequestCount = b.successfulRequestCount;
    this.failedRequestCount = b.failedRequestCount;
    this.pendingRequestCount = b.pendingRequestCount;
    this.inputFileName = b.inputFileName;
    this.responsesFile = b.responsesFile;
    this.inlinedOutput = b.inlinedOutput;
    this.error = b.error;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code batches/<id>}. */
  public String getName() {
    return name;
  }

  public String getDisplayName() {
    return displayName;
  }

  /** {@code models/<model>}. */
  public String getModel() {
    return model;
  }

  public BatchState getState() {
    return state;
  }

  /** The state exactly as the service wrote it. */
  public String getRawState() {
    return rawState;
  }

  public Instant getCreateTime() {
    return createTime;
  }

  public Instant getUpdateTime() {
    return updateTime;
  }

  public Instant getEndTime() {
    return endTime;
  }

  public long getRequestCount() {
    return requestCount;
  }

  public long getSuccessfulRequestCount() {
    return successfulRequestCount;
  }

  public long getFailedRequestCount() {
    return failedRequestCount;
  }

  public long getPendingRequestCount() {
    return pendingRequestCount;
  }

  /** {@code files/<id>} the job reads, or null for an inline job. */
  public String getInputFileName() {
    return inputFileName;
  }

  /** {@code files/batch-<id>} holding the results, or null. */
  public String getResponsesFile() {
    return responsesFile;
  }

  /** True when the results are inlined in the Operation rather than in a file. */
  public boolean hasInlinedOutput() {
    return inlinedOutput;
  }

  /** The Operation's error (set for FAILED, CANCELLED, EXPIRED), or null. */
  public ApiStatus getError() {
    return error;
  }

  @Override
  public String toString() {
    return name + " (" + displayName + ") " + rawState;
  }

  /** Builder used by the client's parser and by tests. */
  public static final class Builder {
    private String name;
    private String displayName;
    private String model;
    private String rawState;
    private Instant createTime;
    private Instant updateTime;
    private Instant endTime;
    private long requestCount;
    private long successfulRequestCount;
    private long failedRequestCount;
    private long pendingRequestCount;
    private String inputFileName;
    private String responsesFile;
    private boolean inlinedOutput;
    private ApiStatus error;

    public Builder name(String v) { this.name = v; return this; }
    public Builder displayName(String v) { this.displayName = v; return this; }
    public Builder model(String v) { this.model = v; return this; }
    public Builder rawState(String v) { this.rawState = v; return this; }
    public Builder createTime(Instant v) { this.createTime = v; return this; }
    public Builder updateTime(Instant v) { this.updateTime = v; return this; }
    public Builder endTime(Instant v) { this.endTime = v; return this; }
    public Builder requestCount(long v) { this.requestCount = v; return this; }
    public Builder successfulRequestCount(long v) { this.successfulRequestCount = v; return this; }
    public Builder failedRequestCount(long v) { this.failedRequestCount = v; return this; }
    public Builder pendingRequestCount(long v) { this.pendingRequestCount = v; return this; }
    public Builder inputFileName(String v) { this.inputFileName = v; return this; }
    public Builder responsesFile(String v) { this.responsesFile = v; return this; }
    public Builder inlinedOutput(boolean v) { this.inlinedOutput = v; return this; }
    public Builder error(ApiStatus v) { this.error = v; return this; }

    public BatchJob build() {
      return new BatchJob(this);
    }
  }
}
