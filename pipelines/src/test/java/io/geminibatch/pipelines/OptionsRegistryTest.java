package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The registry the jar starts with (empty, filled with what the command line names) parses every
 * command line as Beam's full registry does: the full registry is the oracle.
 */
class OptionsRegistryTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final List<List<String>> COMMAND_LINES =
      List.of(
          List.of("--input=a", "--output=b"),
          List.of("--input=a", "--output=b", "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=3"),
          List.of("--input=a", "--output=b", "--runner=DirectRunner", "--targetParallelism=2", "--enforceImmutability=false"),
          List.of("--input=a", "--output=b", "--project=p", "--tempLocation=/tmp/x", "--appName=x", "--experiments=a,b"),
          List.of("--input=a", "--output=b", "--streaming", "--maxBundleSize=7", "--gcsUploadBufferSizeBytes=1048576"),
          // Errors: an option nobody declares (Beam names the nearest), a value of the wrong type.
          List.of("--input=a", "--output=b", "--parallelismm=3"),
          List.of("--input=a", "--output=b", "--parallelism=x"),
          List.of("--input=a", "--output=b", "not-an-option"));

  @AfterEach
  void fullRegistryAgain() {
    PipelineOptionsFactory.resetCache();
  }

  /** What parsing gives: the options set, or the error. */
  private static String parse(List<String> args) {
    try {
      PipelineOptions options = Args.parseUnvalidated(args.toArray(new String[0]), GenerateOptions.class);
      JsonNode set = JSON.valueToTree(options).get("options");
      ((com.fasterxml.jackson.databind.node.ObjectNode) set).remove("optionsId");
      return set.toString();
    } catch (UsageException | RuntimeException e) {
      return "error: " + e.getMessage();
    }
  }

  @Test
  void everyCommandLineParsesAsWithTheFullRegistry() {
    List<String> full = new ArrayList<>();
    PipelineOptionsFactory.resetCache();
    for (List<String> args : COMMAND_LINES) {
      full.add(parse(args));
    }
    for (int i = 0; i < COMMAND_LINES.size(); i++) {
      OptionsRegistry.startEmpty();
      assertEquals(full.get(i), parse(COMMAND_LINES.get(i)), "" + COMMAND_LINES.get(i));
    }
    assertTrue(full.get(1).contains("\"parallelism\":3"), full.get(1));
    assertTrue(full.get(5).startsWith("error: ") && full.get(5).contains("parallelism"), full.get(5));
  }

  @Test
  void theCommandsOwnOptionsRegisterNothing() throws UsageException {
    OptionsRegistry.startEmpty();
    assertTrue(PipelineOptionsFactory.getRegisteredOptions().isEmpty());
    GenerateOptions options = Args.parse(new String[] {"--input=a", "--output=b", "--apiKey=k", "--pollInterval=1"}, GenerateOptions.class);
    assertTrue(PipelineOptionsFactory.getRegisteredOptions().isEmpty(), "" + PipelineOptionsFactory.getRegisteredOptions());
    // An interface nobody registered is checked when the run first uses it.
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    flink.setParallelism(5);
    assertEquals(5, options.as(FlinkPipelineOptions.class).getParallelism());
  }

  @Test
  void everyRegistrarsOptionIsAcceptedAndRegistersOnlyWhatDeclaresIt() {
    OptionsRegistry.startEmpty();
    Set<String> all = new HashSet<>();
    OptionsRegistry.registrarInterfaces().forEach(c -> all.addAll(OptionsRegistry.properties(c)));
    assertTrue(all.contains("flinkMaster") && all.contains("targetParallelism") && all.contains("gcpTempLocation"), "" + all);
    OptionsRegistry.registerFor(new String[] {"--input=a", "--flinkMaster=[local]"}, GenerateOptions.class);
    Set<Class<? extends PipelineOptions>> registered = PipelineOptionsFactory.getRegisteredOptions();
    assertTrue(registered.contains(FlinkPipelineOptions.class), "" + registered);
    assertFalse(registered.contains(org.apache.beam.runners.direct.DirectOptions.class), "" + registered);
    for (String name : all) {
      OptionsRegistry.registerFor(new String[] {"--" + name + "=x"}, GenerateOptions.class);
      Set<String> known = new HashSet<>(OptionsRegistry.properties(GenerateOptions.class));
      PipelineOptionsFactory.getRegisteredOptions().forEach(c -> known.addAll(OptionsRegistry.properties(c)));
      assertTrue(known.contains(name), name);
    }
  }
}
