package io.geminibatch.connector;

import io.geminibatch.connector.client.ApiStatus;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Stage 1, validate: builds or checks each request and routes what cannot be sent (no key, bad
 * JSON, missing field, too large) to the failures, naming the problem. Nothing is thrown away.
 */
final class ValidateFn<InT extends KeyedInput> extends DoFn<InT, KeyedRequest> {
  static final TupleTag<KeyedRequest> VALID = new TupleTag<KeyedRequest>() {};
  static final int MAX_KEY_LENGTH = 1024;

  private final KindSupport<?> kind;
  private final long maxRequestBytes;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();

  ValidateFn(KindSupport<?> kind, long maxRequestBytes, TupleTag<GenerateFailure> failures) {
    this.kind = kind;
    this.maxRequestBytes = maxRequestBytes;
    this.failures = failures;
  }

  @ProcessElement
  public void process(@Element InT input, MultiOutputReceiver out) {
    metrics.requests.inc();
    String problem = checkKey(input.key);
    if (problem == null && input.text != null && input.text.trim().isEmpty()) {
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
      out.get(VALID).output(new KeyedRequest(input.key, request, 0));
      return;
    }
    metrics.invalidRequests.inc();
    metrics.failures.inc();
    // The request as it would have been sent, for the failure.
    if (request == null && input.text != null) {
      request = kind.requestFromText(input.text);
    }
    if (request != null) {
      json = new String(request, StandardCharsets.UTF_8);
    }
    out.get(failures)
        .output(
            new GenerateFailure(
                input.key,
                json,
                GenerateFailure.Stage.VALIDATE,
                ApiStatus.INVALID_ARGUMENT,
                problem,
                null,
                0));
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
