package io.geminibatch.testing;

import java.util.Objects;

/**
 * The faults the emulator injects: an immutable value, built with {@link #builder()} or {@link
 * #toBuilder()}; {@link #none()} injects nothing.
 *
 * <p>Every rate is a probability in [0, 1], drawn from its own seeded random stream (see {@link
 * GeminiEmulator.Builder#seed(long)}), so that a given seed and call sequence reproduce the same
 * faults:
 *
 * <ul>
 *   <li>{@code jobFailureRate}: a created job ends {@code BATCH_STATE_FAILED} (error code 13)
 *       after its latency, with no results.
 *   <li>{@code jobExpiryRate}: a created job ends {@code BATCH_STATE_EXPIRED} (error code 4) after
 *       its latency, with no results (as if it had waited 48 hours).
 *   <li>{@code stuckJobRate}: a created job stays {@code BATCH_STATE_PENDING} until it is
 *       cancelled, deleted or reaches the job expiry.
 *   <li>{@code requestErrorRate}: a request's result is an error {@code {"code": 13, "message":
 *       "An internal error has occurred..."}} instead of a response; the job still succeeds.
 *   <li>{@code throttleRate} / {@code unavailableRate}: an API call (any path under {@code /v1},
 *       {@code /v1beta}, {@code /upload}, {@code /download}) is answered 429 RESOURCE_EXHAUSTED,
 *       resp. 503 UNAVAILABLE, with {@code Retry-After: 1}, and has no other effect.
 *   <li>{@code dropDownloadRate}: a download sends its headers with the full Content-Length,
 *       half of the body, then drops the connection.
 *   <li>{@code lostCreateReplyRate}: a batch create creates the job, then drops the connection
 *       before replying (a blind retry creates a second job).
 *   <li>{@code spuriousQuotaRefusalRate}: a batch create is refused with 429 RESOURCE_EXHAUSTED
 *       and the service's quota message although no {@link Quota} limit is reached (users report
 *       such refusals below the published limits: python-genai #1901, js-genai #1264); nothing is
 *       created.
 *   <li>{@code reorderInline}: inline results are shuffled.
 *   <li>{@code omitInlineMetadata}: inline results carry no {@code metadata}.
 *   <li>{@code webhookDuplicateRate}: a delivered webhook event is sent once more, under the same
 *       {@code webhook-id} (receivers must deduplicate).
 *   <li>{@code webhookDelayRate}: a webhook event's first attempt waits the emulator's webhook
 *       fault delay ({@link GeminiEmulator.Builder#webhookFaultDelay}).
 * </ul>
 *
 * <p>Job-level faults and the request error rate are sampled when a job is created.
 */
public final class Faults {
  private static final Faults NONE = new Builder().build();

  private final double jobFailureRate;
  private final double jobExpiryRate;
  private final double requestErrorRate;
  private final double throttleRate;
  private final double unavailableRate;
  private final double dropDownloadRate;
  private final double stuckJobRate;
  private final double lostCreateReplyRate;
  private final double spuriousQuotaRefusalRate;
  private final boolean reorderInline;
  private final boolean omitInlineMetadata;
  private final double webhookDuplicateRate;
  private final double webhookDelayRate;

  private Faults(Builder b) {
    this.jobFailureRate = b.jobFailureRate;
    this.jobExpiryRate = b.jobExpiryRate;
    this.requestErrorRate = b.requestErrorRate;
    this.throttleRate = b.throttleRate;
    this.unavailableRate = b.unavailableRate;
    this.dropDownloadRate = b.dropDownloadRate;
    this.stuckJobRate = b.stuckJobRate;
    this.lostCreateReplyRate = b.lostCreateReplyRate;
    this.spuriousQuotaRefusalRate = b.spuriousQuotaRefusalRate;
    this.reorderInline = b.reorderInline;
    this.omitInlineMetadata = b.omitInlineMetadata;
    this.webhookDuplicateRate = b.webhookDuplicateRate;
    this.webhookDelayRate = b.webhookDelayRate;
  }

  /** No fault at all. */
  public static Faults none() {
    return NONE;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.jobFailureRate = jobFailureRate;
    b.jobExpiryRate = jobExpiryRate;
    b.requestErrorRate = requestErrorRate;
    b.throttleRate = throttleRate;
    b.unavailableRate = unavailableRate;
    b.dropDownloadRate = dropDownloadRate;
    b.stuckJobRate = stuckJobRate;
    b.lostCreateReplyRate = lostCreateReplyRate;
    b.spuriousQuotaRefusalRate = spuriousQuotaRefusalRate;
    b.reorderInline = reorderInline;
    b.omitInlineMetadata = omitInlineMetadata;
    b.webhookDuplicateRate = webhookDuplicateRate;
    b.webhookDelayRate = webhookDelayRate;
    return b;
  }

  public double jobFailureRate() {
    return jobFailureRate;
  }

  public double jobExpiryRate() {
    return jobExpiryRate;
  }

  public double requestErrorRate() {
    return requestErrorRate;
  }

  public double throttleRate() {
    return throttleRate;
  }

  public double unavailableRate() {
    return unavailableRate;
  }

  public double dropDownloadRate() {
    return dropDownloadRate;
  }

  public double stuckJobRate() {
    return stuckJobRate;
  }

  public double lostCreateReplyRate() {
    return lostCreateReplyRate;
  }

  public double spuriousQuotaRefusalRate() {
    return spuriousQuotaRefusalRate;
  }

  public boolean reorderInline() {
    return reorderInline;
  }

  public boolean omitInlineMetadata() {
    return omitInlineMetadata;
  }

  public double webhookDuplicateRate() {
    return webhookDuplicateRate;
  }

  public double webhookDelayRate() {
    return webhookDelayRate;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Faults)) {
      return false;
    }
    Faults f = (Faults) o;
    return jobFailureRate == f.jobFailureRate
        && jobExpiryRate == f.jobExpiryRate
        && requestErrorRate == f.requestErrorRate
        && throttleRate == f.throttleRate
        && unavailableRate == f.unavailableRate
        && dropDownloadRate == f.dropDownloadRate
        && stuckJobRate == f.stuckJobRate
        && lostCreateReplyRate == f.lostCreateReplyRate
        && spuriousQuotaRefusalRate == f.spuriousQuotaRefusalRate
        && reorderInline == f.reorderInline
        && omitInlineMetadata == f.omitInlineMetadata
        && webhookDuplicateRate == f.webhookDuplicateRate
        && webhookDelayRate == f.webhookDelayRate;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        jobFailureRate,
        jobExpiryRate,
        requestErrorRate,
        throttleRate,
        unavailableRate,
        dropDownloadRate,
        stuckJobRate,
        lostCreateReplyRate,
        spuriousQuotaRefusalRate,
        reorderInline,
        omitInlineMetadata,
        webhookDuplicateRate,
        webhookDelayRate);
  }

  @Override
  public String toString() {
    return "Faults{jobFailureRate=" + jobFailureRate
        + ", jobExpiryRate=" + jobExpiryRate
        + ", requestErrorRate=" + requestErrorRate
        + ", throttleRate=" + throttleRate
        + ", unavailableRate=" + unavailableRate
        + ", dropDownloadRate=" + dropDownloadRate
        + ", stuckJobRate=" + stuckJobRate
        + ", lostCreateReplyRate=" + lostCreateReplyRate
        + ", spuriousQuotaRefusalRate=" + spuriousQuotaRefusalRate
        + ", reorderInline=" + reorderInline
        + ", omitInlineMetadata=" + omitInlineMetadata
        + ", webhookDuplicateRate=" + webhookDuplicateRate
        + ", webhookDelayRate=" + webhookDelayRate
        + "}";
  }

  /** Builds {@link Faults}; every setter validates its argument. */
  public static final class Builder {
    private double jobFailureRate;
    private double jobExpiryRate;
    private double requestErrorRate;
    private double throttleRate;
    private double unavailableRate;
    private double dropDownloadRate;
    private double stuckJobRate;
    private double lostCreateReplyRate;
    private double spuriousQuotaRefusalRate;
    private boolean reorderInline;
    private boolean omitInlineMetadata;
    private double webhookDuplicateRate;
    private double webhookDelayRate;

    private Builder() {}

    public Builder jobFailureRate(double rate) {
      this.jobFailureRate = rate("jobFailureRate", rate);
      return this;
    }

    public Builder jobExpiryRate(double rate) {
      this.jobExpiryRate = rate("jobExpiryRate", rate);
      return this;
    }

    public Builder requestErrorRate(double rate) {
      this.requestErrorRate = rate("requestErrorRate", rate);
      return this;
    }

    public Builder throttleRate(double rate) {
      this.throttleRate = rate("throttleRate", rate);
      return this;
    }

    public Builder unavailableRate(double rate) {
      this.unavailableRate = rate("unavailableRate", rate);
      return this;
    }

    public Builder dropDownloadRate(double rate) {
      this.dropDownloadRate = rate("dropDownloadRate", rate);
      return this;
    }

    public Builder stuckJobRate(double rate) {
      this.stuckJobRate = rate("stuckJobRate", rate);
      return this;
    }

    public Builder lostCreateReplyRate(double rate) {
      this.lostCreateReplyRate = rate("lostCreateReplyRate", rate);
      return this;
    }

    public Builder spuriousQuotaRefusalRate(double rate) {
      this.spuriousQuotaRefusalRate = rate("spuriousQuotaRefusalRate", rate);
      return this;
    }

    public Builder reorderInline(boolean reorder) {
      this.reorderInline = reorder;
      return this;
    }

    public Builder omitInlineMetadata(boolean omit) {
      this.omitInlineMetadata = omit;
      return this;
    }

    public Builder webhookDuplicateRate(double rate) {
      this.webhookDuplicateRate = rate("webhookDuplicateRate", rate);
      return this;
    }

    public Builder webhookDelayRate(double rate) {
      this.webhookDelayRate = rate("webhookDelayRate", rate);
      return this;
    }

    public Faults build() {
      return new Faults(this);
    }

    private static double rate(String field, double value) {
      if (!(value >= 0.0 && value <= 1.0)) {
        throw new IllegalArgumentException(
            field + " must be a probability in [0, 1], got " + value);
      }
      return value;
    }
  }
}
