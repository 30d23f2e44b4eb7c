package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** {@code webhooks}: create, list, get, delete, ping, rotate-secret. */
public interface WebhooksOptions extends ServiceOptions {

  @Description("webhooks create: the URL the service POSTs events to (https; a standalone emulator also takes http).")
  String getUri();

  void setUri(String uri);

  @Description(
      "webhooks create: the events, comma-separated. Default: batch.succeeded,batch.failed,batch.cancelled,batch.expired.")
  String getEvents();

  void setEvents(String events);

  @Description("webhooks create: a name for the webhook.")
  String getName();

  void setName(String name);

  @Description(
      "webhooks rotate-secret: revoke the previous secret at once instead of keeping it valid for 24 hours.")
  @Default.Boolean(false)
  Boolean getRevokeNow();

  void setRevokeNow(Boolean revokeNow);
}
