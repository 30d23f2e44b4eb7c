package io.geminibatch.connector.client;

/** A Files API resource ({@code files/<id>}), as far as the connector needs it. */
public final class GeminiFile {
  private final String name;
  private final String displayName;
  private final String mimeType;
  private final long sizeBytes;
  private final String state;
  private final String uri;

  public GeminiFile(
      String name, String displayName, String mimeType, long sizeBytes, String state, String uri) {
    this.name = name;
    this.displayName = displayName;
    this.mimeType = mimeType;
    this.sizeBytes = sizeBytes;
    this.state = state;
    this.uri = uri;
  }

  /** {@code files/<id>}. */
  public String getName() {
    return name;
  }

  public String getDisplayName() {
    return displayName;
  }

  public String getMimeType() {
    return mimeType;
  }

  public long getSizeBytes() {
    return sizeBytes;
  }

  /** {@code PROCESSING}, {@code ACTIVE} or {@code FAILED}. */
  public String getState() {
    return state;
  }

  public String getUri() {
    return uri;
  }

  @Override
  public String toString() {
    return name + " (" + sizeBytes + " bytes, " + state + ")";
  }
}
