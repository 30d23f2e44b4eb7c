package io.geminibatch.connector;

import io.geminibatch.connector.client.ApiStatus;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Stage 1, validate: builds or checks each request and routes what cannot be sent (no key, bad
 * JSON, missing field, too large) to the failures, naming the problem. Nothing is thrown away.
 * The check itself ({@link #request}) is also what {@link PackFn} validates with.
 */
final class ValidateFn<InT extends KeyedInput> extends DoFn<InT, KeyedRequest> implements RequestSource<InT> {
  static final TupleTag<KeyedRequest> VALID = new TupleTag<KeyedRequest>() {};
  static final int MAX_KEY_LENGTH = 1024;

  private final KindSupport<?> kind;
  private final long maxRequestBytes;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();
  /** Counted per bundle: a metric update per request costs more than checking it. */
  private transient long requests;
  private transient long invalid;

  ValidateFn(KindSupport<?> kind, long maxRequestBytes, TupleTag<GenerateFailure> failures) {
    this.kind = kind;
    this.maxRequestBytes = maxRequestBytes;
    this.failures = failures;
  }

  @ProcessElement
  public void process(@Element InT input, MultiOutputReceiver out) {
    KeyedRequest request = request(input, out.get(failures)::output);
    if (request != null) {
      out.get(VALID).output(request);
    }
  }

  @FinishBundle
  @Override
  public void flushMetrics() {
    metrics.requests.inc(requests);
    metrics.invalidRequests.inc(invalid);
    metrics.failures.inc(invalid);
    requests = 0;
    invalid = 0;
  }

  /** The request to send for {@code input}, or null after reporting why there is none. */
  @Override
  public KeyedRequest request(InT input, Consumer<GenerateFailure> failed) {
    requests++;
    String problem = checkKey(input.key);
    if (problem == null && input.text != null && isEmptyTrimmed(input.text)) {
      problem = "text is empty: there is nothing to send";
    }
    byte[] request = null;
    String json = input.requestJson;
    if (problem == null) {
      try {
        request = input.text != null ? kind.requestFromText(input.text) : Json.utf8(kind.validateAndComplete(json));
        if (request.length > maxRequestBytes) {
          problem = "request is " + request.length + " bytes, over the limit of " + maxRequestBytes + " bytes";
        }
      } catch (InvalidRequestException e) {
        problem = e.getMessage();
      }
    }
    if (problem == null) {
      return new KeyedRequest(input.key, request, 0);
    }
    invalid++;
    // The request as it would have been sent, for the failure.
    if (request == null && input.text != null) {
      request = kind.requestFromText(input.text);
    }
    if (request != null) {
      json = new String(request, StandardCharsets.UTF_8);
    }
    failed.accept(
        new GenerateFailure(
            input.key, json, GenerateFailure.Stage.VALIDATE, ApiStatus.INVALID_ARGUMENT, problem, null, 0));
    return null;
  }

  /** {@code s.trim().isEmpty()}, without the copy. */
  private static boolean isEmptyTrimmed(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) > ' ') {
        return false;
      }
    }
    return true;
  }

  private static String checkKey(String key) {
    if (key == null || key.isEmpty()) {
      return "key must be a non-empty string, got " + (key == null ? "null" : "''");
    }
    if (key.length() > MAX_KEY_LENGTH) {
      return "key must be at most " + MAX_KEY_LENGTH + " characters, got " + key.length();
    }
    return null;
  }
}
