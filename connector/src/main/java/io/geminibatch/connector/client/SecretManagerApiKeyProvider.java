package io.geminibatch.connector.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Reads the API key from a Secret Manager secret version ({@code
 * projects/P/secrets/S/versions/V}, {@code V} a number or {@code latest}) where the key is used:
 * on the worker that builds the client, once per JVM, with Application Default Credentials (on
 * Dataflow, the workers' service account, which needs {@code roles/secretmanager.secretAccessor}
 * on the secret). Only the secret's name is serialized with the pipeline.
 *
 * <p>Against an emulator ({@link #withEndpoint} with a plain {@code http://} URL) credentials are
 * used when there are some and not required otherwise.
 */
public final class SecretManagerApiKeyProvider extends ReadOnceApiKeyProvider {
  private static final long serialVersionUID = 1L;

  public static final String DEFAULT_ENDPOINT = "https://secretmanager.googleapis.com";
  private static final Pattern NAME =
      Pattern.compile("projects/[^/\\s]+/secrets/[^/\\s]+/versions/[^/\\s:]+");
  private static final String SCOPE = "https://www.googleapis.com/auth/cloud-platform";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ATTEMPTS = 4;

  private final String secretVersion;
  private final String endpoint;

  SecretManagerApiKeyProvider(String secretVersion, String endpoint) {
    if (secretVersion == null || !NAME.matcher(secretVersion).matches()) {
      throw new IllegalArgumentException(
          "apiKeySecret must be a secret version's name, projects/PROJECT/secrets/SECRET/versions/VERSION"
              + " (VERSION a number or latest), got '" + secretVersion + "'");
    }
    URI uri = URI.create(Objects.requireNonNull(endpoint, "endpoint"));
    if (uri.getScheme() == null || !uri.getScheme().matches("https?") || uri.getHost() == null) {
      throw new IllegalArgumentException("Secret Manager endpoint must be an http(s) URL, got '" + endpoint + "'");
    }
    this.secretVersion = secretVersion;
    this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
  }

  /** The same secret read from another Secret Manager (an emulator's base URL). */
  public SecretManagerApiKeyProvider withEndpoint(String endpoint) {
    return new SecretManagerApiKeyProvider(secretVersion, endpoint);
  }

  public String getSecretVersion() {
    return secretVersion;
  }

  @Override
  String read() {
    String auth = authorization();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).build();
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(endpoint + "/v1/" + secretVersion + ":access"))
            .timeout(Duration.ofSeconds(60))
            .header("Accept", "application/json")
            .GET();
    if (auth != null) {
      request.header("Authorization", auth);
    }
    IOException last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        HttpResponse<byte[]> reply = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        int code = reply.statusCode();
        if (code == 200) {
          return payload(reply.body());
        }
        if (code != 429 && code < 500) {
          throw new ApiKeyUnavailableException(explain(code, reply.body()));
        }
        last = new IOException("Secret Manager answered " + code);
      } catch (IOException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ApiKeyUnavailableException("interrupted while reading the API key from Secret Manager " + secretVersion, e);
      }
      sleep(attempt);
    }
    throw new ApiKeyUnavailableException(
        "could not read the API key from Secret Manager secret " + secretVersion + " at " + endpoint
            + " after " + ATTEMPTS + " attempts: " + last.getMessage(),
        last);
  }

  /** {@code Bearer TOKEN} from Application Default Credentials, or null on an emulator without any. */
  private String authorization() {
    try {
      GoogleCredentials credentials = GoogleCredentials.getApplicationDefault().createScoped(SCOPE);
      credentials.refreshIfExpired();
      AccessToken token = credentials.getAccessToken();
      return token == null ? null : "Bearer " + token.getTokenValue();
    } catch (IOException e) {
      if (endpoint.startsWith("http://")) {
        return null; // an emulator: credentials are not required
      }
      throw new ApiKeyUnavailableException(
          "cannot read the API key from Secret Manager secret " + secretVersion
              + ": no Application Default Credentials (" + e.getMessage() + "). On Google Cloud the"
              + " workers' service account is used; elsewhere run `gcloud auth application-default login`"
              + " or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file.",
          e);
    }
  }

  private String payload(byte[] body) {
    try {
      JsonNode payload = JSON.readTree(body).path("payload");
      String data = payload.path("data").asText(null);
      if (data == null) {
        throw new ApiKeyUnavailableException("Secret Manager's answer for " + secretVersion + " has no payload.data");
      }
      byte[] bytes = Base64.getDecoder().decode(data);
      JsonNode crc = payload.get("dataCrc32c");
      if (crc != null && !crc.isNull()) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        if (c.getValue() != crc.asLong()) {
          throw new ApiKeyUnavailableException("the payload of Secret Manager secret " + secretVersion + " is corrupt (CRC32C mismatch)");
        }
      }
      String key = new String(bytes, StandardCharsets.UTF_8).trim();
      if (key.isEmpty()) {
        throw new ApiKeyUnavailableException("Secret Manager secret " + secretVersion + " is empty: add a version holding the API key");
      }
      return key;
    } catch (IOException | IllegalArgumentException e) {
      throw new ApiKeyUnavailableException("Secret Manager's answer for " + secretVersion + " is not the expected JSON", e);
    }
  }

  /** A message naming the secret and what to do; never the body's payload (there is none on errors). */
  private String explain(int code, byte[] body) {
    String message = "";
    try {
      message = JSON.readTree(body).path("error").path("message").asText("");
    } catch (IOException e) {
      // not JSON: the status says enough
    }
    String what;
    switch (code) {
      case 404:
        what = "it does not exist: create it with `gcloud secrets create SECRET` and `gcloud secrets versions add"
            + " SECRET --data-file=KEY_FILE`, or fix --apiKeySecret";
        break;
      case 403:
        what = "permission denied: grant the account the workers run as roles/secretmanager.secretAccessor on the"
            + " secret (gcloud secrets add-iam-policy-binding SECRET --member=serviceAccount:... "
            + "--role=roles/secretmanager.secretAccessor)";
        break;
      case 401:
        what = "the credentials were refused: refresh Application Default Credentials";
        break;
      default:
        what = "Secret Manager answered " + code;
    }
    return "cannot read the API key from Secret Manager secret " + secretVersion + ": " + what
        + (message.isEmpty() ? "" : " (" + code + ": " + message + ")");
  }

  private static void sleep(int attempt) {
    try {
      Thread.sleep(Math.min(8_000L, 500L << attempt));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SecretManagerApiKeyProvider
        && ((SecretManagerApiKeyProvider) o).secretVersion.equals(secretVersion)
        && ((SecretManagerApiKeyProvider) o).endpoint.equals(endpoint);
  }

  @Override
  public int hashCode() {
    return Objects.hash(secretVersion, endpoint);
  }

  @Override
  public String toString() {
    return "Secret Manager " + secretVersion;
  }
}
