package io.geminibatch.testing.gcs;

/**
 * Faults the Cloud Storage emulator injects, each a probability in [0, 1] drawn from its own
 * seeded stream (see {@link GcsStore#setFaults(GcsFaults)}):
 *
 * <ul>
 *   <li>{@code unavailableRate}: a call (any JSON API, upload, download or batch request) is
 *       answered 503 {@code backendError} and has no other effect;
 *   <li>{@code dropDownloadRate}: a media download sends its headers with the full {@code
 *       Content-Length}, half of the body, then drops the connection.
 * </ul>
 */
public record GcsFaults(double unavailableRate, double dropDownloadRate) {
  private static final GcsFaults NONE = new GcsFaults(0, 0);

  public GcsFaults {
    check("unavailableRate", unavailableRate);
    check("dropDownloadRate", dropDownloadRate);
  }

  public static GcsFaults none() {
    return NONE;
  }

  public GcsFaults withUnavailableRate(double rate) {
    return new GcsFaults(rate, dropDownloadRate);
  }

  public GcsFaults withDropDownloadRate(double rate) {
    return new GcsFaults(unavailableRate, rate);
  }

  private static void check(String field, double v) {
    if (!(v >= 0.0 && v <= 1.0)) {
      throw new IllegalArgumentException(field + " must be a probability in [0, 1], got " + v);
    }
  }
}
