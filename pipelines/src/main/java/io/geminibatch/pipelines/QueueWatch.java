package io.geminibatch.pipelines;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.joda.time.Duration;

/**
 * The shards waiting to be submitted, for the progress output: the connector's submit step notes
 * each waiting shard and why in its job ledger ({@code <staging>/gemini-batch-*}/jobs/*.waiting})
 * while it waits for quota, for its own pacing, or after a failed create. Reads at most {@value
 * #READ} of the notes per look, so a look stays cheap on a bucket.
 */
final class QueueWatch implements Supplier<String> {
  static final int READ = 20;

  private final String glob;
  private boolean seen;

  QueueWatch(String staging) {
    this.glob = (staging.endsWith("/") ? staging : staging + "/") + "gemini-batch-*/jobs/*.waiting";
  }

  /** "N jobs waiting to be submitted: ..." (or none, once some did); null before any waited. */
  @Override
  public String get() {
    try {
      MatchResult match = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
      if (match.status() != MatchResult.Status.OK || match.metadata().isEmpty()) {
        return seen ? "no job waiting to be submitted" : null;
      }
      seen = true;
      Map<String, Integer> reasons = new TreeMap<>();
      int read = 0;
      for (MatchResult.Metadata m : match.metadata()) {
        if (read++ == READ) {
          break;
        }
        try (InputStream in = Channels.newInputStream(FileSystems.open(m.resourceId()))) {
          String why = new String(in.readNBytes(4096), StandardCharsets.UTF_8).trim();
          reasons.merge(kind(why), 1, Integer::sum);
        } catch (IOException e) {
          // gone meanwhile: its shard was submitted
        }
      }
      int n = match.metadata().size();
      StringBuilder sb = new StringBuilder().append(n).append(n == 1 ? " job" : " jobs").append(" waiting to be submitted");
      String sep = ": ";
      for (Map.Entry<String, Integer> e : reasons.entrySet()) {
        sb.append(sep).append(e.getValue()).append(n > READ ? " of " + READ + " seen " : " ").append(e.getKey());
        sep = "; ";
      }
      return sb.toString();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The reason without what changes from one refusal to the next. */
  private static String kind(String why) {
    return why.length() > 300 ? why.substring(0, 300) + "..." : why;
  }

  /** {@code 48h}, {@code 90m}, {@code 30s}, {@code 500ms} or ISO-8601 ({@code PT48H}). */
  static Duration parseDuration(String flag, String value) {
    String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.startsWith("pt") || v.startsWith("p")) {
        return Duration.millis(java.time.Duration.parse(v.toUpperCase(Locale.ROOT)).toMillis());
      }
      if (v.endsWith("ms")) {
        return Duration.millis(Long.parseLong(v.substring(0, v.length() - 2)));
      }
      long n = Long.parseLong(v.substring(0, v.length() - 1));
      switch (v.charAt(v.length() - 1)) {
        case 'h':
          return Duration.standardHours(n);
        case 'm':
          return Duration.standardMinutes(n);
        case 's':
          return Duration.standardSeconds(n);
        case 'd':
          return Duration.standardDays(n);
        default:
          break;
      }
    } catch (RuntimeException e) {
      // below
    }
    throw new IllegalArgumentException(
        flag + ": expected a duration such as 48h, 90m, 30s or PT48H, got '" + value + "'");
  }
}
