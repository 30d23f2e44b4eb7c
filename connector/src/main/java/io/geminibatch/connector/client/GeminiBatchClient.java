package io.geminibatch.connector.client;

import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * The connector's one seam to a batch service: stage a shard's input ({@link #uploadFile}), create
 * a job for it, poll it, stream its results, clean up. The stages speak only this interface; the
 * backend is the implementation {@link GeminiBatchClients} builds from the config: {@link
 * HttpGeminiBatchClient} for the Gemini API's Files and Batch APIs (whose terms the methods use),
 * {@link VertexBatchClient} for Vertex AI batch prediction (files are {@code gs://} objects, a
 * job's "responses file" its output directory, translated to the same result lines; no inline
 * jobs). Tests point both at the emulator. Implementations are thread-safe.
 *
 * <p>Idempotent calls (everything but the two creates) retry 408, 429, 5xx and dropped
 * connections with jittered exponential backoff, honouring {@code Retry-After}. {@link
 * #createFileBatch} and {@link #createInlineBatch} are tried exactly once: a duplicate create is a
 * second, billed job. They throw a {@link GeminiApiException} for a 4xx reply (429 included: no
 * job was created) and a {@link CreateOutcomeUnknownException} when the job may exist (transport
 * failure, 5xx, unreadable reply): look it up with {@link #findBatchByDisplayName} then.
 */
public interface GeminiBatchClient extends AutoCloseable {

  /** Opens the content of an upload from its beginning; called again to resume or restart. */
  @FunctionalInterface
  interface ContentSource {
    InputStream open() throws IOException;
  }

  /** Receives the results inlined in a finished job, one at a time, in the service's order. */
  @FunctionalInterface
  interface InlinedResponseVisitor {
    /**
     * @param index position in the service's {@code inlinedResponses} array
     * @param metadataKey {@code metadata.key} of the response, or null when the service omitted it
     * @param responseJson the {@code response} object as JSON bytes (UTF-8), or null
     * @param error the {@code error} status, or null
     */
    void visit(int index, String metadataKey, byte[] responseJson, ApiStatus error)
        throws IOException;
  }

  // ---- Files ----

  /**
   * Uploads {@code sizeBytes} bytes with the resumable protocol, streamed from {@code content} in
   * chunks; a failed chunk is resumed at the offset the service confirms.
   *
   * @param fileId the id to ask for ({@code files/<fileId>}), or null to let the service choose
   * @throws IllegalArgumentException if {@code sizeBytes} is not positive: the Files API keeps no
   *     empty files
   */
  GeminiFile uploadFile(
      String fileId, String displayName, String mimeType, long sizeBytes, ContentSource content)
      throws IOException;

  /** {@code files.get}; empty when the service says 404. */
  Optional<GeminiFile> getFile(String name) throws IOException;

  /**
   * Streams a file's bytes ({@code files/<id>:download?alt=media}). A connection that drops
   * mid-body is reopened at the byte reached, so the stream never repeats or skips a byte.
   */
  InputStream download(String fileName) throws IOException;

  /**
   * Streams a file's bytes from byte {@code offset} on (an HTTP {@code Range}), resuming as {@link
   * #download(String)} does: a reader that stopped part way continues without reading the head
   * again. An offset at or past the end yields an empty stream.
   */
  InputStream download(String fileName, long offset) throws IOException;

  /** {@code files.delete}; false when it was already gone. */
  boolean deleteFile(String name) throws IOException;

  // ---- Batches ----

  /**
   * {@code models/<model>:batchGenerateContent} or {@code :asyncBatchEmbedContent} with a file
   * input. Never retried.
   *
   * @throws GeminiApiException a 4xx reply: no job was created
   * @throws CreateOutcomeUnknownException the job may or may not exist
   */
  BatchJob createFileBatch(BatchKind kind, String model, String displayName, String inputFileName)
      throws IOException;

  /**
   * The same with inline input: {@code requestsJsonArray} is the JSON array of {@code {"request":
   * ..., "metadata": {...}}} objects, as UTF-8 bytes, sent as it is. Never retried.
   *
   * @throws GeminiApiException a 4xx reply: no job was created
   * @throws CreateOutcomeUnknownException the job may or may not exist
   */
  BatchJob createInlineBatch(
      BatchKind kind, String model, String displayName, byte[] requestsJsonArray)
      throws IOException;

  /** {@code batches.get}; empty when the service says 404. */
  Optional<BatchJob> getBatch(String name) throws IOException;

  /** One page of {@code batches.list}. */
  BatchPage listBatches(int pageSize, String pageToken) throws IOException;

  /** Walks {@code batches.list} for a job with this display name (the newest if several). */
  Optional<BatchJob> findBatchByDisplayName(String displayName) throws IOException;

  /**
   * Streams the results inlined in a finished job's Operation to {@code visitor}. The request is
   * retried; a connection lost mid-body fails the call (the caller reads again from index 0).
   */
  void readInlinedResponses(String batchName, InlinedResponseVisitor visitor) throws IOException;

  /** {@code batches.cancel}: best effort, the job ends CANCELLED unless it finished first. */
  void cancelBatch(String name) throws IOException;

  /** {@code batches.delete}; false when it was already gone. */
  boolean deleteBatch(String name) throws IOException;

  /** Releases the connections; a no-op for the shared clients of {@link GeminiBatchClients}. */
  @Override
  void close();
}
