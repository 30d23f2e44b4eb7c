package io.geminibatch.testing.gcs;

/**
 * The JSON API's generation preconditions on a write, delete or read; a null field is not
 * checked. {@code ifGenerationMatch = 0} means "only if no live object has this name". A failed
 * precondition is {@code 412 conditionNotMet}.
 */
public record GcsPreconditions(
    Long ifGenerationMatch,
    Long ifGenerationNotMatch,
    Long ifMetagenerationMatch,
    Long ifMetagenerationNotMatch) {

  private static final GcsPreconditions NONE = new GcsPreconditions(null, null, null, null);

  /** No precondition. */
  public static GcsPreconditions none() {
    return NONE;
  }

  /** {@code ifGenerationMatch=0}: the write succeeds only if the object does not exist yet. */
  public static GcsPreconditions doesNotExist() {
    return new GcsPreconditions(0L, null, null, null);
  }

  /** {@code ifGenerationMatch=generation}. */
  public static GcsPreconditions generationMatch(long generation) {
    return new GcsPreconditions(generation, null, null, null);
  }

  /** Throws {@code 412 conditionNotMet} unless {@code current} (null: no live object) holds. */
  void check(GcsObject current) {
    long gen = current == null ? 0 : current.generation();
    if (ifGenerationMatch != null && ifGenerationMatch != gen) {
      throw GcsException.preconditionFailed();
    }
    if (ifGenerationNotMatch != null && ifGenerationNotMatch == gen) {
      throw GcsException.preconditionFailed();
    }
    if (ifMetagenerationMatch != null
        && (current == null || ifMetagenerationMatch != current.metageneration())) {
      throw GcsException.preconditionFailed();
    }
    if (ifMetagenerationNotMatch != null
        && current != null
        && ifMetagenerationNotMatch == current.metageneration()) {
      throw GcsException.preconditionFailed();
    }
  }
}
