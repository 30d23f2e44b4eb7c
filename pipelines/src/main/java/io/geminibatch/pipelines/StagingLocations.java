package io.geminibatch.pipelines;

import io.geminibatch.connector.RecordedJob;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.display.DisplayData;

/**
 * Where a run of {@code generate} or {@code embed} stages its shards and its job ledger, the one
 * place that says so. The default is durable and derived from the run, so that the same command
 * run again (after Ctrl-C, a crash, a reboot) finds the jobs the earlier run created and creates
 * none again:
 *
 * <ol>
 *   <li>{@code --stagingLocation}, as given ({@link #given}); on Dataflow, where it is also
 *       Dataflow's own (the jar is uploaded there), its subfolder {@value
 *       Dataflow#STAGING_SUBFOLDER};
 *   <li>else {@code <--tempLocation>/gemini-batch-<command>-<run id>/};
 *   <li>else next to the output: {@code <PREFIX>-staging-<command>-<run id>/} ({@code
 *       DIR/staging-<command>-<run id>/} for {@code --output=DIR/});
 * </ol>
 *
 * where the run id is the first 12 hex digits of the SHA-256 of the command, the input and output
 * (local paths made absolute) and the service's base URL: the same command on the same service
 * gets the same location from any working directory; another input, output or service gets
 * another. (Other settings, such as {@code --model}, need no place of their own: the connector
 * names its jobs by the requests' content and settings inside the location.)
 *
 * <p>A derived location is deleted once a run completes ({@link #deleteIfDone}); a given one is
 * the user's and is left. On the built-in emulator, whose jobs end with the process, a new
 * temporary directory is used and deleted at the end as before.
 */
final class StagingLocations {
  private StagingLocations() {}

  /** A run's staging location. */
  static final class Location {
    /** Ends with '/'. */
    final String path;
    /** Derived by this class (deleted after a complete run), not given by the user. */
    final boolean derived;
    /** A temporary directory of this process only (the built-in emulator): no lock, always deleted. */
    final boolean temporary;

    Location(String path, boolean derived, boolean temporary) {
      this.path = path.endsWith("/") ? path : path + "/";
      this.derived = derived;
      this.temporary = temporary;
    }

    @Override
    public String toString() {
      return path;
    }
  }

  /** The staging location of {@code command} run with {@code options} against {@code baseUrl}. */
  static Location of(String command, GeminiBatchOptions options, String baseUrl, boolean builtInEmulator)
      throws IOException {
    String given = given(options);
    if (given != null) {
      return new Location(
          Dataflow.isDataflow(options) ? (given.endsWith("/") ? given : given + "/") + Dataflow.STAGING_SUBFOLDER : given,
          false,
          false);
    }
    if (builtInEmulator) {
      return new Location(Files.createTempDirectory("gemini-batch-staging-").toString(), true, true);
    }
    String id = runId(command, options.getInput(), options.getOutput(), baseUrl);
    if (options.getTempLocation() != null) {
      String temp = options.getTempLocation();
      return new Location((temp.endsWith("/") ? temp : temp + "/") + "gemini-batch-" + command + "-" + id, true, false);
    }
    return new Location(BatchCommand.outputName(absolute(options.getOutput()), "staging-" + command + "-" + id), true, false);
  }

  /**
   * {@code --stagingLocation} as the user (or the code) set it, else null. Never its default: the
   * option is also Dataflow's, whose default ({@code <--gcpTempLocation>/staging}) is computed
   * from Cloud Storage and the project, and is no place of the command's (see {@link
   * GeminiBatchOptions#getStagingLocation}). Beam's display data of the options holds exactly the
   * options that were set.
   */
  static String given(PipelineOptions options) {
    for (DisplayData.Item item : DisplayData.from(options).items()) {
      if (item.getKey().equals("stagingLocation") && item.getValue() instanceof String && !((String) item.getValue()).isEmpty()) {
        return (String) item.getValue();
      }
    }
    return null;
  }

  /** 12 hex digits of SHA-256(command, absolute input, absolute output, base URL). */
  static String runId(String command, String input, String output, String baseUrl) {
    String run = command + "\n" + absolute(input) + "\n" + absolute(output) + "\n" + baseUrl;
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(run.getBytes(StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder();
      for (int i = 0; i < 6; i++) {
        hex.append(String.format("%02x", d[i]));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A local path made absolute and normal (keeping a trailing '/'); any other URI as it is. */
  static String absolute(String path) {
    if (isLocal(path)) {
      String abs = localPath(path).toAbsolutePath().normalize().toString();
      return path.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
    }
    return path;
  }

  /** A path of the local file system: no scheme, or {@code file:}. */
  static boolean isLocal(String path) {
    int colon = path.indexOf(':');
    int slash = path.indexOf('/');
    return path.startsWith("file:") || colon < 0 || (slash >= 0 && slash < colon) || colon == 1 /* C:\ */;
  }

  /** The local directory of a local location, else null. */
  static Path localDir(Location location) {
    return localPath(location.path);
  }

  /** A local path (no scheme, or {@code file:}) as a Path; null for any other file system. */
  static Path localPath(String path) {
    if (!isLocal(path)) {
      return null;
    }
    return Paths.get(path.startsWith("file:") ? URI.create(path).getPath() : path);
  }

  /**
   * The names of the jobs the ledger in {@code location} holds: jobs created and whose results
   * no run has collected yet. {@code creating} gets the number of creates begun and not recorded.
   */
  static List<String> recordedJobs(Location location, int[] creating) throws IOException {
    List<String> names = new ArrayList<>();
    int intents = 0;
    for (ResourceId file : match(location.path + "gemini-batch-*/jobs/*")) {
      String fileName = file.getFilename();
      if (fileName.endsWith(".job")) {
        String name = RecordedJob.read(file).jobName();
        if (name != null) {
          names.add(name);
        }
      } else if (fileName.endsWith(".intent")) {
        intents++;
      }
    }
    if (creating != null) {
      creating[0] = Math.max(0, intents - names.size());
    }
    return names;
  }

  /**
   * After a complete run: deletes a derived location with everything in it, unless the ledger
   * still holds jobs (of an earlier run with other settings, not collected by this one); returns
   * how many jobs it holds (0 when deleted or nothing to do).
   */
  static int deleteIfDone(Location location, boolean keepArtifacts) throws IOException {
    if (!location.derived || keepArtifacts) {
      return 0;
    }
    if (!location.temporary) {
      int left = recordedJobs(location, null).size();
      if (left > 0) {
        return left;
      }
    }
    Path local = localDir(location);
    if (local != null) {
      BatchCommand.deleteTree(local);
    } else {
      FileSystems.delete(match(location.path + "**"), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
    }
    return 0;
  }

  /** The files {@code glob} matches; none when nothing does. */
  static List<ResourceId> match(String glob) throws IOException {
    List<ResourceId> ids = new ArrayList<>();
    MatchResult m = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
    if (m.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata md : m.metadata()) {
        ids.add(md.resourceId());
      }
    }
    return ids;
  }
}
