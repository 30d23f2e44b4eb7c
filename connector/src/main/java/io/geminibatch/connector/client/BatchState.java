package io.geminibatch.connector.client;

import java.util.Locale;

/**
 * A batch job's state. The wire uses {@code BATCH_STATE_*}; the SDKs and the guide speak of
 * {@code JOB_STATE_*}. Both spellings map to the same constant.
 */
public enum BatchState {
  UNSPECIFIED(false),
  PENDING(false),
  RUNNING(false),
  SUCCEEDED(true),
  FAILED(true),
  CANCELLED(true),
  EXPIRED(true),
  /** A name this client does not know; treated as not terminal so that polling goes on. */
  UNKNOWN(false);

  private final boolean terminal;

  BatchState(boolean terminal) {
    this.terminal = terminal;
  }

  public boolean isTerminal() {
    return terminal;
  }

  /** Parses {@code BATCH_STATE_X}, {@code JOB_STATE_X} or a bare {@code X}; null means UNSPECIFIED. */
  public static BatchState fromWire(String value) {
    if (value == null || value.isEmpty()) {
      return UNSPECIFIED;
    }
    String v = value.toUpperCase(Locale.ROOT);
    if (v.startsWith("BATCH_STATE_")) {
      v = v.substring("BATCH_STATE_".length());
    } else if (v.startsWith("JOB_STATE_")) {
      v = v.substring("JOB_STATE_".length());
    }
    if (v.equals("CANCELED")) {
      return CANCELLED;
    }
    if (v.equals("PARTIALLY_SUCCEEDED")) {
      return SUCCEEDED; // Vertex AI: some results may be missing; those requests count as missing
    }
    for (BatchState s : values()) {
      if (s != UNKNOWN && s.name().equals(v)) {
        return s;
      }
    }
    return UNKNOWN;
  }

  /** The wire name, e.g. {@code BATCH_STATE_RUNNING}. */
  public String wireName() {
    return "BATCH_STATE_" + name();
  }
}
