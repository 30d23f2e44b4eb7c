package io.geminibatch.pipelines;

import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/**
 * The options {@code generate} and {@code embed} share. Parsed with Beam's {@link
 * org.apache.beam.sdk.options.PipelineOptionsFactory}, so every runner option works beside them.
 */
public interface GeminiBatchOptions extends ServiceOptions {

  @Description(
      "Input: a file, a glob or any Beam path (gs://...). Each non-blank line is a plain prompt, or"
          + " a request line in the Batch API's input format ({\"key\": ..., \"request\": {...}}):"
          + " see --inputFormat.")
  @Validation.Required
  String getInput();

  void setInput(String input);

  @Description(
      "Which input lines are request lines. auto: a line whose first non-blank character is '{';"
          + " text: none (every line is a prompt); jsonl: every line. A request line that does not"
          + " parse or has no \"request\" is a failure (stage VALIDATE, code 3, with its line"
          + " number), never sent; one without \"key\" is keyed by its line like a prompt.")
  @Default.String("auto")
  String getInputFormat();

  void setInputFormat(String inputFormat);

  @Description(
      "Output prefix: writes PREFIX-responses-SSSSS-of-NNNNN.jsonl and"
          + " PREFIX-failures-SSSSS-of-NNNNN.jsonl (DIR/responses-... when it ends with a slash), on"
          + " any Beam file system.")
  @Validation.Required
  String getOutput();

  void setOutput(String output);

  @Description("Model. Default: gemini-2.5-flash (generate), gemini-embedding-001 (embed).")
  String getModel();

  void setModel(String model);

  /**
   * Dataflow's option of the same name ({@link DataflowPipelineOptions#getStagingLocation}) is
   * declared with the same type and the same {@code @Default}, as Beam requires of a property two
   * registered interfaces declare: the jar carries the Dataflow runner, and any other annotation
   * here fails the parsing of every command line. That default (a folder under
   * --gcpTempLocation) is Dataflow's alone: the command never calls this getter for an unset
   * option, it asks {@link StagingLocations#given}. On Dataflow the command's files go to a
   * subfolder of a given location ({@link Dataflow#STAGING_SUBFOLDER}).
   */
  @Description(
      "Directory for staged shards and the job ledger (local, gs://...). Default: a folder under"
          + " --tempLocation, else next to the output, derived from the run and deleted once it completes."
          + " Re-running with the same one reattaches to its jobs. On Dataflow it is also Dataflow's own"
          + " (the jar is uploaded there), and the command's files go to its gemini-batch/ subfolder.")
  @Default.InstanceFactory(DataflowPipelineOptions.StagingLocationFactory.class)
  String getStagingLocation();

  void setStagingLocation(String stagingLocation);

  @Description("Requests per batch job, at most.")
  @Default.Long(10_000)
  Long getMaxRequestsPerJob();

  void setMaxRequestsPerJob(Long maxRequestsPerJob);

  @Description("Seconds between polls of a running job. Default: 30, or 1 on the built-in emulator.")
  Integer getPollInterval();

  void setPollInterval(Integer pollInterval);

  @Description("Jobs a request may be sent in (a failed or expired job is resubmitted until then).")
  @Default.Integer(3)
  Integer getMaxAttempts();

  void setMaxAttempts(Integer maxAttempts);

  @Description("How long a job may wait for the service's quota (a create refused 429 RESOURCE_EXHAUSTED is"
      + " tried again later) before its requests become failures: 48h, 90m, 30s or ISO-8601 (PT48H).")
  @Default.String("48h")
  String getMaxQueueWait();

  void setMaxQueueWait(String maxQueueWait);

  @Description("Jobs of this run active at once, at most (your tier's concurrent batch jobs); 0: no pacing,"
      + " the service's refusals are waited out.")
  @Default.Integer(0)
  Integer getMaxConcurrentJobs();

  void setMaxConcurrentJobs(Integer maxConcurrentJobs);

  @Description("Prompt tokens in this run's active jobs, at most, estimated as a job's bytes / 4 (your tier's"
      + " enqueued-tokens limit for the model); 0: no pacing.")
  @Default.Long(0)
  Long getMaxEnqueuedTokens();

  void setMaxEnqueuedTokens(Long maxEnqueuedTokens);

  @Description(
      "Run even though the same command already completed on the same input (PREFIX-run.json says so):"
          + " every request is sent, and paid for, again.")
  @Default.Boolean(false)
  Boolean getRunAgain();

  void setRunAgain(Boolean runAgain);

  @Description("Keep the batch jobs, uploaded files and staged shards instead of deleting them.")
  @Default.Boolean(false)
  Boolean getKeepArtifacts();

  void setKeepArtifacts(Boolean keepArtifacts);

  @Description(
      "Create every batch job, record it in the staging location and exit without waiting; the same"
          + " command without --detach then waits for those jobs and writes the results, creating none."
          + " Needs a service that outlives this process (an API key, or --baseUrl of a standalone emulator).")
  @Default.Boolean(false)
  Boolean getDetach();

  void setDetach(Boolean detach);

  @Description(
      "Build the Dataflow job offline into this directory and stop: job.json (the job's specification,"
          + " as a template file) and pipeline.pb (the portable pipeline); nothing is uploaded or submitted"
          + " and no Google credentials are needed. Implies --runner=DataflowRunner.")
  String getDryRun();

  void setDryRun(String dryRun);

  @Description(
      "A URL the service POSTs a signed event to when each batch job of this run ends (the jobs'"
          + " webhookConfig, used instead of the project's webhooks); repeat it for several.")
  java.util.List<String> getWebhookUri();

  void setWebhookUri(java.util.List<String> webhookUri);
}
