package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.beam.model.pipeline.v1.RunnerApi;
import org.apache.beam.sdk.options.ExperimentalOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code --dryRun} builds the Dataflow job offline, through Dataflow's own overrides and
 * translation: the job holds what the connector needs of the runner (the waiting steps as
 * splittable DoFns, the stable input of the stage step, Runner v2), its own staging
 * folder under Dataflow's, and never the API key.
 */
class DataflowDryRunTest {
  private static final String SECRET = "AIzaDryRunSecretKey-3c9e71";
  private static final String SECRET_NAME = "projects/p/secrets/gemini-key/versions/latest";

  @TempDir Path tmp;

  @ParameterizedTest
  @CsvSource({"generate, prompts.txt", "embed, texts.txt"})
  void theDataflowJobIsBuiltOfflineWithTheWaitingStepItsRequirementsAndNoKey(String command, String input)
      throws Exception {
    Path dir = tmp.resolve("job");
    String[] common = {command, "--input=" + Cli.EXAMPLES.resolve(input), "--output=" + tmp.resolve("out"), "--dryRun=" + dir};

    // A key that would travel with the job is refused, and the refusal does not show it.
    for (Cli refused :
        List.of(
            Cli.run(Map.of(), concat(common, "--apiKey=" + SECRET)),
            Cli.run(Map.of("GEMINI_API_KEY", SECRET), common),
            Cli.run(Map.of(), concat(common, "--apiKeyFile=" + tmp.resolve("key.txt"))))) {
      assertEquals(Main.USAGE, refused.status, refused.toString());
      assertTrue(
          refused.err.contains("--apiKeySecret=projects/") && refused.err.contains("--apiKeyFile") && refused.err.contains("gs://"),
          refused.err);
      assertFalse(refused.toString().contains(SECRET));
      assertFalse(Files.exists(dir.resolve(Dataflow.JOB_FILE)));
    }

    // The launcher's environment holds a key; the job takes the secret's name instead.
    Cli cli =
        Cli.run(
            Map.of("GEMINI_API_KEY", SECRET),
            concat(
                common,
                "--apiKeySecret=" + SECRET_NAME,
                "--stagingLocation=gs://bkt/stage",
                // This JVM's class path is hundreds of jars, each hashed before staging; the
                // jar's own run stages one.
                "--filesToStage=" + Cli.EXAMPLES.resolve(input)));
    assertEquals(0, cli.status, cli.toString());
    assertTrue(cli.err.contains("dry run: the Dataflow job is in " + dir), cli.err);

    JsonNode job = Cli.JSON.readTree(dir.resolve(Dataflow.JOB_FILE).toFile());
    JsonNode options = job.at("/environment/sdkPipelineOptions/options");
    assertEquals(Dataflow.DRY_RUN_PROJECT, options.path("project").asText());
    assertEquals("gs://bkt/stage", options.path("stagingLocation").asText(), "Dataflow's staging location, as given");
    List<String> experiments = new ArrayList<>();
    job.at("/environment/experiments").forEach(e -> experiments.add(e.asText()));
    assertTrue(experiments.contains(Dataflow.RUNNER_V2), "Runner v2 is on by default: " + experiments);

    // With Runner v2 the steps travel as the portable pipeline.
    byte[] pb = Files.readAllBytes(dir.resolve(Dataflow.PIPELINE_FILE));
    RunnerApi.Pipeline pipeline = RunnerApi.Pipeline.parseFrom(pb);
    assertTrue(pipeline.getRequirementsList().contains("beam:requirement:pardo:splittable_dofn:v1"), pipeline.getRequirementsList().toString());
    assertTrue(pipeline.getRequirementsList().contains("beam:requirement:pardo:stable_input:v1"), pipeline.getRequirementsList().toString());
    List<String> splittable = new ArrayList<>();
    List<String> stable = new ArrayList<>();
    for (RunnerApi.PTransform t : pipeline.getComponents().getTransformsMap().values()) {
      if (!t.getSpec().getUrn().equals("beam:transform:pardo:v1")) {
        continue;
      }
      RunnerApi.ParDoPayload pardo = RunnerApi.ParDoPayload.parseFrom(t.getSpec().getPayload());
      String step = t.getUniqueName().replaceAll(".*/", "");
      if (!pardo.getRestrictionCoderId().isEmpty()) {
        splittable.add(step);
      }
      if (pardo.getRequiresStableInput()) {
        stable.add(step);
      }
    }
    // Waiting for a job, and for the service's quota before a create, resume later through the
    // runner; staging writes the shards a replay must find again.
    assertTrue(splittable.contains("AwaitAndRead") && splittable.contains("Submit"), "splittable DoFns: " + splittable);
    assertTrue(stable.contains("Stage"), "stable input: " + stable);

    // The serialized transforms are readable as text: the connector's staging folder (a subfolder
    // of Dataflow's) and the secret's name are in them, the key is in no file of the job.
    String pbText = new String(pb, StandardCharsets.ISO_8859_1);
    assertTrue(pbText.contains("gs://bkt/stage/" + Dataflow.STAGING_SUBFOLDER), "the connector stages under Dataflow's folder");
    assertTrue(pbText.contains(SECRET_NAME), "the workers read the key from Secret Manager");
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    assertTrue(files.size() >= 2, files.toString());
    for (Path f : files) {
      assertFalse(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(SECRET), "the API key is in " + f);
    }
    assertTrue(job.toString().contains("display_data"), "the job's display data was among the files searched");
  }

  @Test
  void runnerV2IsOnUnlessDisabledAndOtherRunnersAreLeftAlone() throws Exception {
    String[] base = {"--input=gs://b/in", "--output=gs://b/out", "--apiKeySecret=" + SECRET_NAME, "--runner=DataflowRunner"};
    GenerateOptions on = Args.parse(base, GenerateOptions.class);
    assertTrue(Dataflow.prepare(base, on, Map.of()));
    assertTrue(on.as(ExperimentalOptions.class).getExperiments().contains(Dataflow.RUNNER_V2));

    String[] off = concat(base, "--experiments=disable_runner_v2");
    GenerateOptions disabled = Args.parse(off, GenerateOptions.class);
    assertTrue(Dataflow.prepare(off, disabled, Map.of()));
    assertFalse(disabled.as(ExperimentalOptions.class).getExperiments().contains(Dataflow.RUNNER_V2));

    String[] flink = {"--input=in", "--output=out", "--apiKey=" + SECRET, "--runner=FlinkRunner"};
    assertFalse(Dataflow.prepare(flink, Args.parse(flink, GenerateOptions.class), Map.of()));
  }

  /** --stagingLocation, Dataflow's option too, is the command's own in its help. */
  @Test
  void theHelpShowsTheStagingLocationAndTheDryRun() {
    Cli help = Cli.run(Map.of(), "generate", "--help");
    assertEquals(0, help.status, help.toString());
    assertTrue(help.out.contains("--stagingLocation=STRING"), help.out);
    assertTrue(help.out.contains("--dryRun=STRING"), help.out);
  }

  /** The Flex Template's parameters are the command line's options, each once. */
  @Test
  void theFlexTemplateParametersAreTheCommandLinesOptions() throws Exception {
    JsonNode metadata = Cli.JSON.readTree(Path.of("src", "main", "flex-template", "metadata.json").toFile());
    Set<String> parameters = new TreeSet<>();
    metadata.path("parameters").forEach(p -> assertTrue(parameters.add(p.path("name").asText()), "twice: " + p));
    Set<String> options = new TreeSet<>(Set.of("command"));
    for (Class<?> c : List.of(GeminiBatchOptions.class, GenerateOptions.class, EmbedOptions.class, ServiceOptions.class)) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.getName().startsWith("get")) {
          options.add(Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4));
        }
      }
    }
    // Written into the job (refused on Dataflow), the dry run, or set by the launcher
    // (gcloud's --staging-location is Dataflow's --stagingLocation).
    options.removeAll(Set.of("apiKey", "accessToken", "dryRun", "stagingLocation"));
    assertEquals(options, parameters);
    assertEquals(
        List.of("embed", "--input=gs://b/in", "--runner=DataflowRunner"),
        List.of(FlexTemplateMain.commandLine(new String[] {"--command=embed", "--input=gs://b/in"})));
  }

  private static String[] concat(String[] a, String... b) {
    return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
  }
}
