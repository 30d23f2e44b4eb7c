package io.geminibatch.connector.client;

import java.util.List;

/** One page of {@code batches.list}. */
public final class BatchPage {
  private final List<BatchJob> jobs;
  private final String nextPageToken;

  public BatchPage(List<BatchJob> jobs, String nextPageToken) {
    this.jobs = List.copyOf(jobs);
    this.nextPageToken = nextPageToken == null || nextPageToken.isEmpty() ? null : nextPageToken;
  }

  public List<BatchJob> getJobs() {
    return jobs;
  }

  /** The token of the next page, or null on the last page. */
  public String getNextPageToken() {
    return nextPageToken;
  }
}
