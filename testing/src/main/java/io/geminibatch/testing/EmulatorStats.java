package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A snapshot of the emulator's counters (what {@code GET /_emulator/stats} returns).
 *
 * <p>Counters ({@link #batchesCreated()}, {@link #createsByDisplayName()}, {@link
 * #callsByEndpoint()}, {@link #faultsInjected()}, {@link #bytesUploaded()}, {@link
 * #bytesDownloaded()}, {@link #quotaRefusals()}, {@link #peakActiveJobs()}, {@link
 * #peakEnqueuedTokens()}, {@link #firstServedMillis()}, {@link #lastServedMillis()}) restart at
 * {@link GeminiEmulator#resetStats()};
 * gauges ({@link #activeJobs()}, {@link #enqueuedTokens()}, {@link #jobsByState()}, {@link #filesStored()}) describe the
 * current state.
 */
public final class EmulatorStats {
  private final long batchesCreated;
  private final Map<String, Long> createsByDisplayName;
  private final Map<String, Long> callsByEndpoint;
  private final Map<String, Long> faultsInjected;
  private final Map<String, Long> quotaRefusals;
  private final int peakActiveJobs;
  private final int activeJobs;
  private final long peakEnqueuedTokens;
  private final long enqueuedTokens;
  private final Map<String, Long> jobsByState;
  private final long filesStored;
  private final long bytesUploaded;
  private final long bytesDownloaded;
  private final Map<String, Long> webhookDeliveries;
  private final Map<String, Long> firstServedMillis;
  private final Map<String, Long> lastServedMillis;

  EmulatorStats(
      long batchesCreated,
      Map<String, Long> createsByDisplayName,
      Map<String, Long> callsByEndpoint,
      Map<String, Long> faultsInjected,
      Map<String, Long> quotaRefusals,
      int peakActiveJobs,
      int activeJobs,
      long peakEnqueuedTokens,
      long enqueuedTokens,
      Map<String, Long> jobsByState,
      long filesStored,
      long bytesUploaded,
      long bytesDownloaded,
      Map<String, Long> webhookDeliveries,
      Map<String, Long> firstServedMillis,
      Map<String, Long> lastServedMillis) {
    this.batchesCreated = batchesCreated;
    this.createsByDisplayName = frozen(createsByDisplayName);
    this.callsByEndpoint = frozen(callsByEndpoint);
    this.faultsInjected = frozen(faultsInjected);
    this.quotaRefusals = frozen(quotaRefusals);
    this.peakActiveJobs = peakActiveJobs;
    this.activeJobs = activeJobs;
    this.peakEnqueuedTokens = peakEnqueuedTokens;
    this.enqueuedTokens = enqueuedTokens;
    this.jobsByState = frozen(jobsByState);
    this.filesStored = filesStored;
    this.bytesUploaded = bytesUploaded;
    this.bytesDownloaded = bytesDownloaded;
    this.webhookDeliveries = frozen(webhookDeliveries);
    this.firstServedMillis = frozen(firstServedMillis);
    this.lastServedMillis = frozen(lastServedMillis);
  }

  private static Map<String, Long> frozen(Map<String, Long> m) {
    return Collections.unmodifiableMap(new TreeMap<>(m));
  }

  /** Jobs created (generate and embed), including those whose create reply was lost. */
  public long batchesCreated() {
    return batchesCreated;
  }

  /** displayName → number of jobs created with it. */
  public Map<String, Long> createsByDisplayName() {
    return createsByDisplayName;
  }

  /** Number of jobs created with {@code displayName}. */
  public long creates(String displayName) {
    return createsByDisplayName.getOrDefault(displayName, 0L);
  }

  /**
   * Endpoint → calls received, injected 429/503 replies included. Endpoints: {@code
   * batches.create} (generate and embed), {@code batches.get}, {@code batches.list}, {@code
   * batches.cancel}, {@code batches.delete}, {@code files.upload.start}, {@code
   * files.upload.chunk}, {@code files.upload.query}, {@code files.get}, {@code files.list}, {@code
   * files.delete}, {@code files.download}, {@code unknown}.
   */
  public Map<String, Long> callsByEndpoint() {
    return callsByEndpoint;
  }

  /** Calls received on {@code endpoint} (0 when none). */
  public long calls(String endpoint) {
    return callsByEndpoint.getOrDefault(endpoint, 0L);
  }

  /**
   * Fault kind → times injected. Kinds: {@code throttle}, {@code unavailable}, {@code jobFailure},
   * {@code jobExpiry}, {@code stuckJob}, {@code requestError}, {@code dropDownload}, {@code
   * lostCreateReply}, {@code spuriousQuotaRefusal}, {@code reorderInline}, {@code
   * omitInlineMetadata}, {@code webhookDuplicate},
   * {@code webhookDelay}.
   */
  public Map<String, Long> faultsInjected() {
    return faultsInjected;
  }

  /** Times the fault {@code kind} was injected (0 when never). */
  public long faults(String kind) {
    return faultsInjected.getOrDefault(kind, 0L);
  }

  /**
   * Reason → creates refused with 429 RESOURCE_EXHAUSTED for quota (see {@link Quota}): {@code
   * activeJobs}, {@code enqueuedTokens}, or {@code spurious} (the {@code spuriousQuotaRefusalRate}
   * fault). A refused create created nothing and is not in {@link #batchesCreated()}.
   */
  public Map<String, Long> quotaRefusals() {
    return quotaRefusals;
  }

  /** Creates refused for quota, all reasons together. */
  public long quotaRefusalCount() {
    return quotaRefusals.values().stream().mapToLong(Long::longValue).sum();
  }

  /**
   * The largest sum of prompt tokens of the jobs simultaneously PENDING or RUNNING (all keys and
   * models); tokens are counted only while a {@link Quota} limits them, else 0.
   */
  public long peakEnqueuedTokens() {
    return peakEnqueuedTokens;
  }

  /** Prompt tokens of the jobs now PENDING or RUNNING (counted as for {@link #peakEnqueuedTokens()}). */
  public long enqueuedTokens() {
    return enqueuedTokens;
  }

  /** The largest number of jobs simultaneously PENDING or RUNNING. */
  public int peakActiveJobs() {
    return peakActiveJobs;
  }

  /** Jobs now PENDING or RUNNING. */
  public int activeJobs() {
    return activeJobs;
  }

  /** {@code BATCH_STATE_*} → number of (not deleted) jobs in that state now. */
  public Map<String, Long> jobsByState() {
    return jobsByState;
  }

  /** Files stored now (uploaded and generated). */
  public long filesStored() {
    return filesStored;
  }

  /** Bytes accepted by upload chunks. */
  public long bytesUploaded() {
    return bytesUploaded;
  }

  /** Bytes sent in download bodies (dropped downloads count what was sent). */
  public long bytesDownloaded() {
    return bytesDownloaded;
  }

  /**
   * Webhook delivery counter → count: {@code deliveries} (events to send, one per target), {@code
   * attempts}, {@code delivered} (answered 2xx), {@code failedAttempts}, {@code retries}, {@code
   * givenUp}, {@code disabledWebhooks}.
   */
  public Map<String, Long> webhookDeliveries() {
    return webhookDeliveries;
  }

  /** The webhook delivery counter {@code name} (0 when never counted). */
  public long webhookDeliveries(String name) {
    return webhookDeliveries.getOrDefault(name, 0L);
  }

  /**
   * Endpoint → when the first call it answered without an error began (epoch millis): with
   * {@link #lastServedMillis()}, a timeline of a client's run from the service's side (first
   * upload to last download), the same for every client.
   */
  public Map<String, Long> firstServedMillis() {
    return firstServedMillis;
  }

  /** Endpoint → when the last call it answered without an error ended, its reply written (epoch millis). */
  public Map<String, Long> lastServedMillis() {
    return lastServedMillis;
  }

  /** The JSON document {@code GET /_emulator/stats} returns. */
  public String toJson() {
    StringWriter w = new StringWriter();
    try (JsonGenerator g = Json.FACTORY.createGenerator(w)) {
      g.useDefaultPrettyPrinter();
      g.writeStartObject();
      g.writeNumberField("batchesCreated", batchesCreated);
      writeMap(g, "createsByDisplayName", createsByDisplayName);
      writeMap(g, "callsByEndpoint", callsByEndpoint);
      writeMap(g, "faultsInjected", faultsInjected);
      writeMap(g, "quotaRefusals", quotaRefusals);
      g.writeNumberField("peakActiveJobs", peakActiveJobs);
      g.writeNumberField("activeJobs", activeJobs);
      g.writeNumberField("peakEnqueuedTokens", peakEnqueuedTokens);
      g.writeNumberField("enqueuedTokens", enqueuedTokens);
      writeMap(g, "jobsByState", jobsByState);
      g.writeNumberField("filesStored", filesStored);
      g.writeNumberField("bytesUploaded", bytesUploaded);
      g.writeNumberField("bytesDownloaded", bytesDownloaded);
      writeMap(g, "webhookDeliveries", webhookDeliveries);
      writeMap(g, "firstServedMillis", firstServedMillis);
      writeMap(g, "lastServedMillis", lastServedMillis);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
  }

  private static void writeMap(JsonGenerator g, String name, Map<String, Long> m)
      throws IOException {
    g.writeObjectFieldStart(name);
    for (Map.Entry<String, Long> e : m.entrySet()) {
      g.writeNumberField(e.getKey(), e.getValue());
    }
    g.writeEndObject();
  }

  @Override
  public String toString() {
    return toJson();
  }
}
