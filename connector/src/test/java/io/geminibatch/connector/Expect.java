package io.geminibatch.connector;

import io.geminibatch.testing.EmulatorResponder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.transforms.SerializableFunction;

/** Serializable checks for PAssert: they run inside the pipeline, on any runner. */
final class Expect {
  private Expect() {}

  /** Each response answers its own prompt (the emulator echoes it), once; {@code count} in all. */
  static SerializableFunction<Iterable<GenerateResponse>, Void> echoes(
      HashMap<String, String> prompts, int count) {
    return responses -> {
      Set<String> seen = new HashSet<>();
      for (GenerateResponse r : responses) {
        String prompt = prompts.get(r.getKey());
        if (prompt == null) {
          throw new AssertionError("response for unknown key " + r.getKey());
        }
        if (!seen.add(r.getKey())) {
          throw new AssertionError("key answered twice: " + r.getKey());
        }
        String expected = EmulatorResponder.ANSWER_PREFIX + prompt;
        if (!expected.equals(r.getText())) {
          throw new AssertionError("key " + r.getKey() + " got '" + r.getText() + "', expected '" + expected + "'");
        }
        if (!"STOP".equals(r.getFinishReason()) || r.getTotalTokenCount() <= 0 || r.getJobName() == null) {
          throw new AssertionError("incomplete response " + r + " " + r.getResponseJson());
        }
      }
      if (seen.size() != count) {
        throw new AssertionError("expected " + count + " responses, got " + seen.size());
      }
      return null;
    };
  }

  /** Responses and failures together hold every key exactly once. */
  static SerializableFunction<Iterable<String>, Void> eachKeyOnce(Set<String> keys) {
    HashSet<String> expected = new HashSet<>(keys);
    return seen -> {
      Map<String, Integer> counts = new HashMap<>();
      for (String k : seen) {
        counts.merge(k, 1, Integer::sum);
      }
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        if (e.getValue() != 1) {
          throw new AssertionError("key " + e.getKey() + " ended " + e.getValue() + " times");
        }
        if (!expected.contains(e.getKey())) {
          throw new AssertionError("unexpected key " + e.getKey());
        }
      }
      if (counts.size() != expected.size()) {
        Set<String> missing = new HashSet<>(expected);
        missing.removeAll(counts.keySet());
        throw new AssertionError(missing.size() + " keys lost, e.g. " + missing.iterator().next());
      }
      return null;
    };
  }
}
