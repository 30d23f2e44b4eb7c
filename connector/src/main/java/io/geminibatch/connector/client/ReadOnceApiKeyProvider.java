package io.geminibatch.connector.client;

/**
 * A key read from somewhere else (a file, Secret Manager) once per JVM where it is used: on the
 * workers, never on the launching machine's behalf, and never serialized (the key field is
 * transient; only where to read it travels with the pipeline).
 */
abstract class ReadOnceApiKeyProvider implements ApiKeyProvider {
  private static final long serialVersionUID = 1L;

  private transient volatile String key;

  /** Reads the key; called at most once per instance unless it throws. */
  abstract String read();

  @Override
  public final boolean readWhereUsed() {
    return true;
  }

  @Override
  public final String get() {
    String k = key;
    if (k == null) {
      synchronized (this) {
        if (key == null) {
          key = read();
        }
        k = key;
      }
    }
    return k;
  }
}
