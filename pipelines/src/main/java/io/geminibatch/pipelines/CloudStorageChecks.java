package io.geminibatch.pipelines;

import com.google.api.client.googleapis.json.GoogleJsonResponseException;
import com.google.api.client.http.HttpResponseException;
import java.io.IOException;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.extensions.gcp.options.GcsOptions;
import org.apache.beam.sdk.extensions.gcp.util.gcsfs.GcsPath;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Cloud Storage problems said before anything is paid for, and in words when they happen: a
 * bucket that does not exist, a request the account may not make, a precondition that failed,
 * each naming the path and what to do.
 */
final class CloudStorageChecks {
  private static final Pattern OBJECT_URL =
      Pattern.compile("/b/([^/?\\s]+)(?:/o/([^?\\s]+))?(?:\\?\\S*?(?:[?&]name=([^&\\s]+)))?");

  private CloudStorageChecks() {}

  /** Why a {@code gs://} input matches nothing: no bucket (or no access), or no such object. */
  static String whyNoMatch(String input, PipelineOptions options) {
    GcsPath path = GcsPath.fromUri(input);
    String bucket = "gs://" + path.getBucket();
    try {
      if (!options.as(GcsOptions.class).getGcsUtil().bucketAccessible(path)) {
        return "bucket " + bucket + " does not exist or this account may not read it: create it"
            + " (gcloud storage buckets create " + bucket + ") or grant the account"
            + " roles/storage.objectViewer on it";
      }
    } catch (IOException | RuntimeException e) {
      return "cannot read bucket " + bucket + ": " + describe(e);
    }
    return "no object in " + bucket + " matches " + input + ": check the path (gcloud storage ls " + input + ")";
  }

  /**
   * Writes and deletes an empty object where {@code location} (a prefix or a directory ending in
   * a slash) puts its files, so that a bucket that is missing or may not be written fails the run
   * before any job is submitted.
   */
  static void checkWritable(String flag, String location) throws UsageException {
    if (location == null || !location.startsWith("gs://")) {
      return;
    }
    ResourceId dir =
        location.endsWith("/")
            ? FileSystems.matchNewResource(location, true)
            : FileSystems.matchNewResource(location, false).getCurrentDirectory();
    ResourceId probe =
        dir.resolve(".gemini-batch-write-check-" + UUID.randomUUID(), StandardResolveOptions.RESOLVE_FILE);
    try {
      try (WritableByteChannel ch = FileSystems.create(probe, "text/plain")) {
        // empty
      }
      FileSystems.delete(List.of(probe), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
    } catch (IOException | RuntimeException e) {
      throw new UsageException(flag + ": cannot write to " + location + ": " + describe(e));
    }
  }

  /**
   * A Cloud Storage error among {@code e}'s causes said in words (status, object, what to do), or
   * null when there is none.
   */
  static String describeIfStorage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof HttpResponseException) {
        return describe((HttpResponseException) t);
      }
    }
    return null;
  }

  private static String describe(Throwable e) {
    String s = describeIfStorage(e);
    return s != null ? s : Errors.describe(e);
  }

  private static String describe(HttpResponseException e) {
    int code = e.getStatusCode();
    String message =
        e instanceof GoogleJsonResponseException && ((GoogleJsonResponseException) e).getDetails() != null
            ? ((GoogleJsonResponseException) e).getDetails().getMessage()
            : e.getStatusMessage();
    String bucket = null;
    String object = null;
    String[] lines = e.getMessage() == null ? new String[0] : e.getMessage().split("\n");
    if (lines.length > 1) {
      Matcher m = OBJECT_URL.matcher(lines[1]);
      if (m.find()) {
        bucket = m.group(1);
        object = m.group(2) != null ? m.group(2) : m.group(3);
      }
    }
    String where =
        bucket == null
            ? "Cloud Storage"
            : "gs://" + bucket + (object == null ? "" : "/" + java.net.URLDecoder.decode(object, java.nio.charset.StandardCharsets.UTF_8));
    String todo;
    switch (code) {
      case 403:
        todo = "permission denied: grant the account this runs as roles/storage.objectAdmin on "
            + (bucket == null ? "the bucket" : "gs://" + bucket) + " (or use a bucket it may write)";
        break;
      case 404:
        todo = bucket != null && object == null
            ? "the bucket does not exist: create it with gcloud storage buckets create gs://" + bucket
            : "it does not exist (or its bucket does not): check the path";
        break;
      case 412:
        todo = "a precondition failed: another writer changed it at the same time; make sure no other run"
            + " uses the same --output or --stagingLocation, then run again";
        break;
      case 401:
        todo = "the credentials were refused: refresh Application Default Credentials"
            + " (gcloud auth application-default login)";
        break;
      default:
        todo = "Cloud Storage answered " + code;
    }
    return where + ": " + todo + " (" + code + (message == null || message.isBlank() ? "" : ": " + message) + ")";
  }
}
