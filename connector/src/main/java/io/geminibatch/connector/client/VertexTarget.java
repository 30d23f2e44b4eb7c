package io.geminibatch.connector.client;

import com.google.auth.oauth2.GoogleCredentials;
import java.io.Serializable;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where and as whom the Vertex AI backend runs batch prediction: a Cloud project and location,
 * the {@code gs://} directory its jobs' input and output objects go under, and the credentials
 * (null: Application Default Credentials, resolved on the worker). Serializable, and shown without
 * any secret.
 */
public final class VertexTarget implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern PROJECT = Pattern.compile("([a-z0-9.-]+:)?[a-z][a-z0-9-]{2,61}[a-z0-9]|[0-9]{1,20}");
  private static final Pattern LOCATION = Pattern.compile("[a-z][a-z0-9-]{0,62}");

  private final String project;
  private final String location;
  private final String stagingDir;
  private final GoogleCredentials credentials;

  private VertexTarget(String project, String location, String stagingDir, GoogleCredentials credentials) {
    this.project = project;
    this.location = location;
    this.stagingDir = stagingDir;
    this.credentials = credentials;
  }

  /**
   * @throws IllegalArgumentException naming the bad project id or location
   */
  public static VertexTarget of(String project, String location) {
    if (project == null || !PROJECT.matcher(project).matches()) {
      throw new IllegalArgumentException(
          "project must be a Google Cloud project id like 'my-project' (or its number), got '" + project + "'");
    }
    if (location == null || !LOCATION.matcher(location).matches()) {
      throw new IllegalArgumentException(
          "location must be a Vertex AI location like 'us-central1' or 'global', got '" + location + "'");
    }
    return new VertexTarget(project, location, null, null);
  }

  /** The same with these credentials instead of Application Default Credentials. */
  public VertexTarget withCredentials(GoogleCredentials credentials) {
    return new VertexTarget(project, location, stagingDir, Objects.requireNonNull(credentials, "credentials"));
  }

  /** The same with the {@code gs://} directory (ending in '/') for the jobs' objects. */
  public VertexTarget withStagingDir(String dir) {
    if (dir == null || !dir.startsWith("gs://") || !dir.endsWith("/")) {
      throw new IllegalArgumentException("the Vertex AI staging directory must be a gs:// directory ending in '/', got '" + dir + "'");
    }
    return new VertexTarget(project, location, dir, credentials);
  }

  public String getProject() {
    return project;
  }

  public String getLocation() {
    return location;
  }

  /** The {@code gs://} directory for job input and output objects, or null before it is set. */
  public String getStagingDir() {
    return stagingDir;
  }

  /** The given credentials, or null for Application Default Credentials. */
  public GoogleCredentials getCredentials() {
    return credentials;
  }

  /** {@code projects/P/locations/L}. */
  public String parent() {
    return "projects/" + project + "/locations/" + location;
  }

  /**
   * The service endpoint: {@code baseUrl} when it is not the Gemini API's default, else the
   * location's regional host ({@code https://aiplatform.googleapis.com} for {@code global}).
   */
  public String endpoint(String baseUrl) {
    if (!GeminiClientConfig.DEFAULT_BASE_URL.equals(baseUrl)) {
      return baseUrl;
    }
    return location.equals("global")
        ? "https://aiplatform.googleapis.com"
        : "https://" + location + "-aiplatform.googleapis.com";
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof VertexTarget)) {
      return false;
    }
    VertexTarget t = (VertexTarget) o;
    return project.equals(t.project)
        && location.equals(t.location)
        && Objects.equals(stagingDir, t.stagingDir)
        && Objects.equals(credentials, t.credentials);
  }

  @Override
  public int hashCode() {
    return Objects.hash(project, location, stagingDir);
  }

  @Override
  public String toString() {
    return "Vertex AI " + parent() + (credentials == null ? " (Application Default Credentials)" : " (given credentials)");
  }
}
