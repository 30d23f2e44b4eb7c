package io.geminibatch.pipelines;

import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** {@code listen}: a verified webhook receiver. */
public interface ListenOptions extends PipelineOptions {

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
}
