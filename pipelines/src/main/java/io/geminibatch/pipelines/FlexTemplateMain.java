package io.geminibatch.pipelines;

import java.util.ArrayList;
import java.util.List;

/**
 * The main class of the Flex Template ({@code pipelines/src/main/flex-template/metadata.json}).
 * Dataflow's template launcher passes every parameter as {@code --name=value}; the command is the
 * parameter {@code command} ({@code generate} or {@code embed}), and the runner is Dataflow unless
 * {@code --runner} says otherwise. Everything else is the command line's own, except that the
 * command returns once the job is submitted: a template's launcher does not wait for its job.
 */
public final class FlexTemplateMain {
  private FlexTemplateMain() {}

  public static void main(String[] args) {
    // The template's launcher must end once the job is submitted, not when it ends.
    Dataflow.submitOnly = true;
    System.exit(Main.run(commandLine(args), System.out, System.err));
  }

  /** {@code [--command=generate, --input=...]} -> {@code [generate, --input=..., --runner=DataflowRunner]}. */
  static String[] commandLine(String[] args) {
    String command = "generate";
    boolean runner = false;
    List<String> rest = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--command=")) {
        command = a.substring("--command=".length());
      } else {
        runner |= a.startsWith("--runner=");
        rest.add(a);
      }
    }
    if (!runner) {
      rest.add("--runner=DataflowRunner");
    }
    rest.add(0, command);
    return rest.toArray(new String[0]);
  }
}
