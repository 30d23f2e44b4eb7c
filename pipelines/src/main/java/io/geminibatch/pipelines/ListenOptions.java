package io.geminibatch.pipelines;

import java.util.List;
import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** {@code listen}: a verified webhook receiver. */
public interface ListenOptions extends ServiceOptions {

  @Description("Port to listen on; 0 picks a free one.")
  @Default.Integer(8080)
  Integer getPort();

  void setPort(Integer port);

  @Description("Address to listen on; 0.0.0.0 to be reachable from other machines.")
  @Default.String("127.0.0.1")
  String getHost();

  void setHost(String host);

  @Description(
      "A webhook signing secret (whsec_...); repeat it to accept several (e.g. during a rotation)."
          + " Default: GEMINI_WEBHOOK_SECRET.")
  List<String> getSecret();

  void setSecret(List<String> secret);

  @Description("File to append one JSON line per verified event to. Default: standard output.")
  String getEvents();

  void setEvents(String events);

  @Description(
      "The staging location of a detached run (generate/embed --detach): when an event of one of its"
          + " jobs arrives, the run is collected (its results written, no job created).")
  @Default.InstanceFactory(DataflowPipelineOptions.StagingLocationFactory.class) // as in GeminiBatchOptions
  String getStagingLocation();

  void setStagingLocation(String stagingLocation);

  @Description("The --output of a detached run whose staging location was the default: as --stagingLocation.")
  String getOutput();

  void setOutput(String output);
}
