package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * The record a detached run leaves in its staging location ({@code detached-run.json}): the
 * arguments of the command that collects it (never the API key), so that {@code listen
 * --stagingLocation=...} (or {@code --output=...}) can collect the run when its jobs' events
 * arrive.
 */
final class DetachedRuns {
  static final String FILE = "detached-run.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private DetachedRuns() {}

  /** A detached run: where it stages and how to collect it. */
  static final class Run {
    final String staging;
    final List<String> args;

    Run(String staging, List<String> args) {
      this.staging = staging;
      this.args = args;
    }
  }

  static void record(StagingLocations.Location staging, List<String> collectArgs) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    ArrayNode a = n.putArray("args");
    collectArgs.forEach(a::add);
    ResourceId file = FileSystems.matchNewResource(staging.path + FILE, false);
    try (OutputStream out = Channels.newOutputStream(FileSystems.create(file, "application/json"))) {
      out.write(JSON.writeValueAsBytes(n));
    }
  }

  /**
   * The detached runs under {@code stagingLocation} (a run's own staging location), or next to
   * {@code output} (the default staging locations {@code PREFIX-staging-*}); empty when none.
   */
  static List<Run> find(String stagingLocation, String output) throws IOException {
    List<String> globs = new ArrayList<>();
    if (stagingLocation != null) {
      String dir = stagingLocation.endsWith("/") ? stagingLocation : stagingLocation + "/";
      globs.add(dir + FILE);
      globs.add(dir + Dataflow.STAGING_SUBFOLDER + FILE); // a run on Dataflow
    }
    if (output != null) {
      globs.add(BatchCommand.outputName(StagingLocations.absolute(output), "staging-") + "*/" + FILE);
    }
    List<Run> runs = new ArrayList<>();
    for (String glob : globs) {
      MatchResult m = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
      if (m.status() != MatchResult.Status.OK) {
        continue;
      }
      for (MatchResult.Metadata md : m.metadata()) {
        JsonNode n;
        try (InputStream in = Channels.newInputStream(FileSystems.open(md.resourceId()))) {
          n = JSON.readTree(in);
        }
        List<String> args = new ArrayList<>();
        n.path("args").forEach(x -> args.add(x.asText()));
        String dir = md.resourceId().getCurrentDirectory().toString();
        runs.add(new Run(dir, args));
      }
    }
    return runs;
  }
}
