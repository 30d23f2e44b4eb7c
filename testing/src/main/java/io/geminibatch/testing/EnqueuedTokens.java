package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;

/**
 * The prompt tokens a job enqueues, counted as {@link EmulatorResponder} counts {@code
 * promptTokenCount} (a request the responder cannot read counts 1 token, as its error line would).
 * Only counted when a {@link Quota} limits enqueued tokens: it reads the whole input once.
 */
final class EnqueuedTokens {
  private EnqueuedTokens() {}

  static long ofFile(Job.Kind kind, StoredFile file) throws IOException {
    long total = 0;
    EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
    try (InputStream in = Files.newInputStream(file.path)) {
      LineReader reader = new LineReader(in);
      while (reader.next()) {
        if (!reader.blank()) {
          total += ofLine(kind, reader.array, reader.offset, reader.length, prompt);
        }
      }
    }
    return total;
  }

  static long ofInline(Job.Kind kind, List<Job.InlineRequest> inline) throws IOException {
    long total = 0;
    EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
    for (Job.InlineRequest r : inline) {
      total += ofRequest(kind, r.request, 0, r.request.length, prompt);
    }
    return total;
  }

  /** A line {@code {"key", "request"}}, or a bare request as the guide's REST example has. */
  private static long ofLine(Job.Kind kind, byte[] b, int off, int len, EmulatorResponder.Prompt prompt) {
    try (JsonParser p = Json.FACTORY.createParser(b, off, len)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return 1;
      }
      boolean keyed = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (name.equals("request") && t == JsonToken.START_OBJECT) {
          return count(kind, p, b, off, len, prompt);
        }
        keyed |= name.equals("key");
        p.skipChildren();
      }
      return keyed ? 1 : ofRequest(kind, b, off, len, prompt);
    } catch (IOException e) {
      return 1;
    }
  }

  private static long ofRequest(Job.Kind kind, byte[] b, int off, int len, EmulatorResponder.Prompt prompt) {
    try (JsonParser p = Json.FACTORY.createParser(b, off, len)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return 1;
      }
      return count(kind, p, b, off, len, prompt);
    } catch (IOException e) {
      return 1;
    }
  }

  private static long count(
      Job.Kind kind, JsonParser p, byte[] b, int off, int len, EmulatorResponder.Prompt prompt)
      throws IOException {
    try {
      if (kind == Job.Kind.EMBED) {
        EmulatorResponder.EmbedInput in = EmulatorResponder.readEmbedRequest(p);
        return EmulatorResponder.tokens(in.text.codePoints().count());
      }
      EmulatorResponder.readGenerateRequest(p, b, off, off + len, prompt);
      return EmulatorResponder.tokens(prompt.codePoints);
    } catch (JsonProcessingException e) {
      return 1;
    }
  }
}
