package io.geminibatch.pipelines;

import com.google.api.services.dataflow.model.DataflowPackage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.beam.runners.dataflow.DataflowPipelineJob;
import org.apache.beam.runners.dataflow.DataflowPipelineRegistrar;
import org.apache.beam.runners.dataflow.DataflowRunner;
import org.apache.beam.runners.dataflow.options.DataflowPipelineDebugOptions;
import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.runners.dataflow.util.PackageUtil;
import org.apache.beam.runners.dataflow.util.Stager;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory;
import org.apache.beam.sdk.extensions.gcp.storage.NoopPathValidator;
import org.apache.beam.sdk.options.ExperimentalOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * The command line on Dataflow ({@code --runner=DataflowRunner}, or {@code --dryRun=DIR}).
 *
 * <ul>
 *   <li><b>Runner v2 by default</b>: the experiment {@value #RUNNER_V2} is added unless the
 *       experiments name it or a {@code disable_runner_v2...} one. On Dataflow's v1 translation
 *       the waiting step's splittable DoFn is run by a wrapper that sleeps in its worker thread
 *       between polls; on Runner v2 it is checkpointed and a job being waited for holds no worker.
 *   <li><b>No secret in the job</b>: pipeline options and the transforms are serialized into the
 *       job's files (the job specification, {@code pipeline.pb}), which Dataflow stores and shows
 *       to anyone who may view the job. So the key comes from {@code --apiKeySecret} (Secret
 *       Manager) or a {@code gs://} {@code --apiKeyFile}, read by the workers; {@code --apiKey},
 *       {@code GEMINI_API_KEY} and {@code GOOGLE_API_KEY} are refused, as is {@code
 *       --accessToken} for Vertex AI (the workers use their service account).
 *   <li><b>Its own staging folder</b>: Dataflow's {@code --stagingLocation} is where Dataflow
 *       uploads the jar; the command's shards and job ledger go to {@link #STAGING_SUBFOLDER}
 *       under it ({@link StagingLocations#of}).
 *   <li><b>Dry run</b>: {@code --dryRun=DIR} builds the whole job offline with no Google account:
 *       Dataflow's own overrides and translation run, the job's specification is written as a
 *       template file ({@code DIR/}{@value #JOB_FILE}, {@code --templateLocation}) and the
 *       portable pipeline Runner v2 executes as {@code DIR/pipeline.pb}; with {@link
 *       NoopCredentialFactory}, {@link NoopPathValidator} and {@link DryRunStager} nothing is
 *       uploaded or submitted.
 * </ul>
 */
final class Dataflow {
  static final String RUNNER_V2 = "use_runner_v2";
  static final String JOB_FILE = "job.json";
  static final String PIPELINE_FILE = "pipeline.pb";
  /** Where the command's files go under a {@code --stagingLocation} given on Dataflow. */
  static final String STAGING_SUBFOLDER = "gemini-batch/";
  /** The project, region and bucket a dry run names when none is given (nothing is sent to them). */
  static final String DRY_RUN_PROJECT = "dry-run-project";
  static final String DRY_RUN_REGION = "us-central1";
  static final String DRY_RUN_TEMP = "gs://dry-run-bucket/temp";

  /**
   * Set by {@link FlexTemplateMain}: the command returns once the job is submitted (a template's
   * launcher must not wait for the job to end).
   */
  static volatile boolean submitOnly;

  private Dataflow() {}

  /**
   * Registers Dataflow's options interfaces with Beam's parser when {@code args} ask for Dataflow
   * ({@code --runner=...DataflowRunner}, {@code --dryRun}, {@code --help=...Dataflow...}). The jar
   * leaves them out of its registrars (pipelines/pom.xml): Beam validates every registered
   * interface at the first parse, which for Dataflow's (and the GCP IO ones it brings) cost every
   * local run about 1.5 s of CPU. On the test class path they are registered anyway.
   */
  static void registerOptionsIfAsked(String[] args) {
    boolean asked =
        Arrays.stream(args)
            .anyMatch(a -> a.startsWith("--dryRun") || ((a.startsWith("--runner=") || a.startsWith("--help=")) && a.contains("Dataflow")));
    if (asked) {
      for (Class<? extends PipelineOptions> c : new DataflowPipelineRegistrar.Options().getPipelineOptions()) {
        PipelineOptionsFactory.register(c);
      }
    }
  }

  /** The submitted job, as the console names it. */
  static String describe(PipelineResult run) {
    if (run instanceof DataflowPipelineJob) {
      DataflowPipelineJob job = (DataflowPipelineJob) run;
      return "job " + job.getJobId() + " (project " + job.getProjectId() + ", region " + job.getRegion() + ")";
    }
    return String.valueOf(run);
  }

  static boolean isDataflow(PipelineOptions options) {
    return options.getRunner() != null && DataflowRunner.class.isAssignableFrom(options.getRunner());
  }

  /** The dry run's directory, or null. */
  static Path dryRunDir(GeminiBatchOptions options) {
    String dir = options.getDryRun();
    return dir == null || dir.isBlank() ? null : Path.of(dir).toAbsolutePath();
  }

  /**
   * Prepares a run on Dataflow; returns false, changing nothing, for any other runner.
   *
   * @throws UsageException for a key or a path the job cannot use on Dataflow
   */
  static boolean prepare(String[] args, GeminiBatchOptions options, Map<String, String> env) throws UsageException {
    Path dryRun = dryRunDir(options);
    if (dryRun != null) {
      if (Arrays.stream(args).anyMatch(a -> a.startsWith("--runner=")) && !isDataflow(options)) {
        throw new UsageException("--dryRun builds a Dataflow job: give --runner=DataflowRunner, or no --runner");
      }
      options.setRunner(DataflowRunner.class);
    }
    if (!isDataflow(options)) {
      return false;
    }
    refuseSecretsInTheJob(options, env);
    if (dryRun == null) {
      for (String[] path : new String[][] {{"--input", options.getInput()}, {"--output", options.getOutput()}}) {
        if (!path[1].startsWith("gs://")) {
          throw new UsageException(
              "on Dataflow, " + path[0] + " must be a gs:// path: the workers do not see this machine's files (got " + path[1] + ")");
        }
      }
    }
    ExperimentalOptions experimental = options.as(ExperimentalOptions.class);
    List<String> experiments = experimental.getExperiments() == null ? new ArrayList<>() : new ArrayList<>(experimental.getExperiments());
    if (!experiments.contains(RUNNER_V2) && experiments.stream().noneMatch(e -> e.startsWith("disable_runner_v2"))) {
      experiments.add(RUNNER_V2);
      experimental.setExperiments(experiments);
    }
    if (dryRun != null) {
      prepareDryRun(options.as(DataflowPipelineOptions.class), dryRun);
    }
    return true;
  }

  private static void refuseSecretsInTheJob(GeminiBatchOptions options, Map<String, String> env) throws UsageException {
    if (!"gemini".equals(options.getBackend())) {
      if (options.getAccessToken() != null) {
        options.setAccessToken(null);
        throw new UsageException(
            "on Dataflow, --accessToken would be written into the job's files: the workers call Vertex AI"
                + " as their service account (give it roles/aiplatform.user)");
      }
      return;
    }
    if (isSet(options.getApiKeySecret()) || isSet(options.getApiKeyFile())) {
      String file = options.getApiKeyFile();
      if (isSet(file) && !file.trim().startsWith("gs://")) {
        throw new UsageException(
            "on Dataflow, --apiKeyFile must be a gs:// path the workers' service account can read (got " + file
                + "), or give --apiKeySecret=projects/P/secrets/S/versions/V (Secret Manager)");
      }
      return; // with --apiKey too, Service refuses two ways of giving the key
    }
    boolean given = isSet(options.getApiKey()) || isSet(env.get("GEMINI_API_KEY")) || isSet(env.get("GOOGLE_API_KEY"));
    options.setApiKey(null);
    throw new UsageException(
        "on Dataflow, give the API key as --apiKeySecret=projects/P/secrets/S/versions/V (Secret Manager) or"
            + " --apiKeyFile=gs://BUCKET/FILE, read by the workers"
            + (given
                ? ": a key from --apiKey, GEMINI_API_KEY or GOOGLE_API_KEY would be written into the job's files"
                    + " (pipeline options are serialized with the job), and the workers do not see this environment"
                : ""));
  }

  private static boolean isSet(String value) {
    return value != null && !value.isBlank();
  }

  /** A template file as the target, and no credentials, path checks or uploads. */
  private static void prepareDryRun(DataflowPipelineOptions dataflow, Path dir) throws UsageException {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UsageException("--dryRun: cannot create " + dir + ": " + e.getMessage());
    }
    // First, so that no default computed below reaches for Google credentials.
    dataflow.setCredentialFactoryClass(NoopCredentialFactory.class);
    dataflow.setPathValidatorClass(NoopPathValidator.class);
    // Their defaults come from gcloud's configuration on this machine, if any (else null or "").
    if (dataflow.getProject() == null || dataflow.getProject().isEmpty()) {
      dataflow.setProject(DRY_RUN_PROJECT);
    }
    if (dataflow.getRegion() == null || dataflow.getRegion().isEmpty()) {
      dataflow.setRegion(DRY_RUN_REGION);
    }
    // Set, never computed: the default of --gcpTempLocation asks Cloud Storage about the bucket
    // (its soft-delete policy), retrying for minutes offline.
    String temp = dataflow.getTempLocation();
    if (temp == null || !temp.startsWith("gs://")) {
      temp = DRY_RUN_TEMP;
    }
    dataflow.setTempLocation(temp);
    dataflow.setGcpTempLocation(temp);
    dataflow.setTemplateLocation(dir.resolve(JOB_FILE).toString());
    dataflow.as(DataflowPipelineDebugOptions.class).setStagerClass(DryRunStager.class);
  }

  /**
   * Uploads nothing: names the packages as the real stager would, and writes what Dataflow stages
   * from memory (the portable pipeline) into the dry run's directory.
   */
  public static final class DryRunStager implements Stager {
    private final Path dir;

    private DryRunStager(Path dir) {
      this.dir = dir;
    }

    /** Called by the Dataflow runner, as for its own {@code GcsStager}. */
    public static DryRunStager fromOptions(PipelineOptions options) {
      Path dir = dryRunDir(options.as(GeminiBatchOptions.class));
      if (dir == null) {
        throw new IllegalStateException("the dry-run stager runs only with --dryRun");
      }
      return new DryRunStager(dir);
    }

    @Override
    public List<DataflowPackage> stageFiles(List<PackageUtil.StagedFile> files) {
      List<DataflowPackage> packages = new ArrayList<>();
      for (PackageUtil.StagedFile f : files) {
        packages.add(new DataflowPackage().setName(f.getDestination()).setLocation(f.getSource()));
      }
      return packages;
    }

    @Override
    public DataflowPackage stageToFile(byte[] bytes, String baseName) {
      Path file = dir.resolve(baseName);
      try {
        Files.write(file, bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("--dryRun: cannot write " + file, e);
      }
      return new DataflowPackage().setName(baseName).setLocation(file.toString());
    }
  }
}
