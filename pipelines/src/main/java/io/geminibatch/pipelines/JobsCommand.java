package io.geminibatch.pipelines;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.BatchPage;
import io.geminibatch.connector.client.GeminiApiException;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.VertexTarget;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code jobs list|get NAME|cancel NAME|delete NAME}: the batch jobs of the configured service,
 * with what the official quickstarts print: name, display name, state, request counts, times.
 */
final class JobsCommand {
  private JobsCommand() {}

  /** A job the service does not know (HTTP 404). */
  static final class NotFoundException extends IOException {
    private static final long serialVersionUID = 1L;

    NotFoundException(String name) {
      super("no batch job named " + name + " (HTTP 404 NOT_FOUND)");
    }
  }

  static int run(List<String> words, String[] flags, PrintStream out, Map<String, String> env)
      throws UsageException, IOException {
    if (words.isEmpty()) {
      throw new UsageException("jobs: say what to do: list, get NAME, cancel NAME or delete NAME");
    }
    String action = words.get(0);
    JobsOptions options = Args.parse(flags, JobsOptions.class);
    String name = null;
    if (action.equals("list")) {
      expectWords(words, 1, "jobs list");
    } else if (List.of("get", "cancel", "delete").contains(action)) {
      expectWords(words, 2, "jobs " + action + " NAME");
      name = words.get(1);
    } else {
      throw new UsageException("jobs: unknown action '" + action + "': use list, get, cancel or delete");
    }
    try (Service service = Service.forJobs(options, env);
        GeminiBatchClient client = service.client()) {
      if (name != null) {
        name = service.vertex() != null ? vertexJobName(name, service.vertex()) : jobName(name);
      }
      try {
        act(action, name, options.getLimit(), client, out);
      } catch (NotFoundException e) {
        throw e;
      } catch (IOException e) {
        throw Errors.reaching(service.baseUrl(), e);
      }
    }
    return 0;
  }

  private static void act(String action, String name, int limit, GeminiBatchClient client, PrintStream out)
      throws IOException {
    switch (action) {
      case "list":
        list(client, limit, out);
        break;
      case "get":
        print(get(client, name), out);
        break;
      case "cancel":
        try {
          client.cancelBatch(name);
        } catch (GeminiApiException e) {
          throw e.isNotFound() ? new NotFoundException(name) : e;
        }
        out.println("cancel requested for " + name + " (best effort: a job that has finished stays as it is)");
        print(get(client, name), out);
        break;
      default:
        if (!client.deleteBatch(name)) {
          throw new NotFoundException(name);
        }
        out.println("deleted " + name);
    }
  }

  private static void expectWords(List<String> words, int count, String usage) throws UsageException {
    if (words.size() != count) {
      throw new UsageException("usage: " + usage + " (got: " + String.join(" ", words) + ")");
    }
  }

  /** {@code batches/ID}, also from a bare ID. */
  private static String jobName(String word) throws UsageException {
    String name = word.startsWith("batches/") ? word : "batches/" + word;
    if (!name.matches("batches/[A-Za-z0-9_-]+")) {
      throw new UsageException("not a batch job name: '" + word + "' (expected batches/ID)");
    }
    return name;
  }

  /** {@code projects/P/locations/L/batchPredictionJobs/ID}, also from a bare ID. */
  private static String vertexJobName(String word, VertexTarget vertex) throws UsageException {
    String name = word.matches("[0-9]+") ? vertex.parent() + "/batchPredictionJobs/" + word : word;
    if (!name.matches("projects/[^/]+/locations/[^/]+/batchPredictionJobs/[0-9]+")) {
      throw new UsageException(
          "not a Vertex AI batch prediction job: '" + word + "' (expected an ID or projects/P/locations/L/batchPredictionJobs/ID)");
    }
    return name;
  }

  private static BatchJob get(GeminiBatchClient client, String name) throws IOException {
    Optional<BatchJob> job = client.getBatch(name);
    if (job.isEmpty()) {
      throw new NotFoundException(name);
    }
    return job.get();
  }

  private static void list(GeminiBatchClient client, int limit, PrintStream out) throws IOException {
    List<BatchJob> jobs = new ArrayList<>();
    String token = null;
    do {
      int pageSize = limit > 0 ? Math.min(100, limit - jobs.size()) : 100;
      BatchPage page = client.listBatches(pageSize, token);
      jobs.addAll(page.getJobs());
      token = page.getNextPageToken();
    } while (token != null && (limit <= 0 || jobs.size() < limit));
    if (limit > 0 && jobs.size() > limit) {
      jobs = jobs.subList(0, limit);
    }
    if (jobs.isEmpty()) {
      out.println("no batch jobs");
      return;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"NAME", "DISPLAY NAME", "STATE", "TOTAL", "SUCCEEDED", "FAILED", "PENDING", "CREATED", "ENDED"});
    for (BatchJob j : jobs) {
      rows.add(
          new String[] {
            j.getName(), text(j.getDisplayName()), text(j.getRawState()),
            Long.toString(j.getRequestCount()), Long.toString(j.getSuccessfulRequestCount()),
            Long.toString(j.getFailedRequestCount()), Long.toString(j.getPendingRequestCount()),
            time(j.getCreateTime()), time(j.getEndTime())
          });
    }
    printTable(rows, out);
  }

  /** Prints {@code rows} (the first is the header) as columns padded to their widest cell. */
  static void printTable(List<String[]> rows, PrintStream out) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(i == 0 ? "" : "  ").append(String.format("%-" + widths[i] + "s", row[i]));
      }
      out.println(line.toString().stripTrailing());
    }
  }

  private static void print(BatchJob j, PrintStream out) {
    out.println("name:          " + j.getName());
    out.println("display name:  " + text(j.getDisplayName()));
    out.println("model:         " + text(j.getModel()));
    out.println("state:         " + text(j.getRawState()));
    out.println(
        "requests:      total " + j.getRequestCount() + ", succeeded " + j.getSuccessfulRequestCount()
            + ", failed " + j.getFailedRequestCount() + ", pending " + j.getPendingRequestCount());
    out.println("created:       " + time(j.getCreateTime()));
    out.println("updated:       " + time(j.getUpdateTime()));
    out.println("ended:         " + time(j.getEndTime()));
    if (j.getInputFileName() != null) {
      out.println("input file:    " + j.getInputFileName());
    }
    if (j.getResponsesFile() != null || j.hasInlinedOutput()) {
      out.println("responses:     " + (j.getResponsesFile() != null ? j.getResponsesFile() : "inline"));
    }
    if (j.getError() != null) {
      out.println("error:         " + j.getError());
    }
  }

  private static String text(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static String time(Instant t) {
    return t == null ? "-" : t.toString();
  }
}
