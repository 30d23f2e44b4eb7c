package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * {@code benchmark}: its own options. Every option of {@code generate} and {@code embed} and every
 * Beam option (e.g. {@code --runner}, {@code --maxRequestsPerJob}) is passed on to the measured
 * runs.
 */
public interface BenchmarkOptions extends PipelineOptions {

  @Description("Prompts to generate and answer.")
  @Default.Integer(1_000_000)
  Integer getPrompts();

  void setPrompts(Integer prompts);

  @Description("Bytes of each prompt (ASCII).")
  @Default.Integer(1000)
  Integer getPromptBytes();

  void setPromptBytes(Integer promptBytes);

  @Description("Texts to embed (each answer is a vector of 768 floats). Default: a tenth of --prompts.")
  Integer getEmbedPrompts();

  void setEmbedPrompts(Integer embedPrompts);

  @Description("Working directory for the prompts, staged shards and outputs; kept when given."
      + " Default: a temporary directory, deleted at the end.")
  String getWork();

  void setWork(String work);

  @Description("Measure what users run: the jar's generate and embed as cold processes (java -jar, the"
      + " command line a user types) against the standalone emulator in a process of its own, beside"
      + " Google's Node SDK (--nodeSdkScript), the plain-loop baseline and the runner floor, each"
      + " with its ratio to the SDK. Default: everything in this JVM, on an emulator inside it.")
  @Default.Boolean(false)
  Boolean getColdProcesses();

  void setColdProcesses(Boolean coldProcesses);

  @Description("With --coldProcesses: rounds of runs; the SDK and generate change places every round.")
  @Default.Integer(1)
  Integer getRounds();

  void setRounds(Integer rounds);

  @Description("With --coldProcesses: the command-line jar to run. Default: the jar this runs from.")
  String getJar();

  void setJar(String jar);

  @Description("With --coldProcesses: JVM options for the jar's processes (e.g. -Xshare:off), space-separated.")
  String getJarJavaOptions();

  void setJarJavaOptions(String jarJavaOptions);

  @Description("With --coldProcesses: the standalone emulator's jar. Default:"
      + " testing/target/gemini-batch-emulator.jar beside the command-line jar's module.")
  String getEmulatorJar();

  void setEmulatorJar(String emulatorJar);

  @Description("With --coldProcesses: testing/src/test/node/sdk-batch-flow.mjs in a directory where"
      + " npm installed @google/genai (npm install there). Default: no SDK run.")
  String getNodeSdkScript();

  void setNodeSdkScript(String nodeSdkScript);
}
