package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** {@code jobs}: list, get, cancel, delete. */
public interface JobsOptions extends ServiceOptions {

  @Description("jobs list: the newest N jobs; 0 for all.")
  @Default.Integer(50)
  Integer getLimit();

  void setLimit(Integer limit);
}
