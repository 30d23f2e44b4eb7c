package io.geminibatch.testing.secrets;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The emulated Secret Manager: secrets with numbered versions, reached as {@code
 * GeminiEmulator.secrets()} in process and, over HTTP on the emulator's port, through the one call
 * a client needs to read a secret: {@code GET /v1/projects/P/secrets/S/versions/V:access} ({@code
 * V} a number or {@code latest}), answered as the service answers it: {@code {"name":
 * "projects/P/secrets/S/versions/N", "payload": {"data": BASE64, "dataCrc32c": "N"}}}.
 *
 * <pre>{@code
 * emulator.secrets().addVersion("my-project", "gemini-api-key", "AIza...");  // version 1
 * // then: --apiKeySecret=projects/my-project/secrets/gemini-api-key/versions/latest
 * }</pre>
 *
 * <p>A missing secret or version is {@code 404 NOT_FOUND}, a secret given to {@link
 * #denyAccess(String, String)} {@code 403 PERMISSION_DENIED}. The emulator does not check the
 * caller's {@code Authorization} header.
 */
public final class SecretStore {
  private final Map<String, List<byte[]>> versions = new ConcurrentHashMap<>();
  private final Set<String> denied = ConcurrentHashMap.newKeySet();

  private static String key(String project, String secret) {
    return "projects/" + project + "/secrets/" + secret;
  }

  /** Adds a version holding {@code data} (UTF-8); returns its number (1 for the first). */
  public int addVersion(String project, String secret, String data) {
    return addVersion(project, secret, data.getBytes(StandardCharsets.UTF_8));
  }

  /** Adds a version holding {@code data}; returns its number (1 for the first). */
  public int addVersion(String project, String secret, byte[] data) {
    List<byte[]> list = versions.computeIfAbsent(key(project, secret), k -> new ArrayList<>());
    synchronized (list) {
      list.add(data.clone());
      return list.size();
    }
  }

  /** Makes every access to the secret a {@code 403 PERMISSION_DENIED}. */
  public void denyAccess(String project, String secret) {
    denied.add(key(project, secret));
  }

  /** Undoes {@link #denyAccess(String, String)}. */
  public void allowAccess(String project, String secret) {
    denied.remove(key(project, secret));
  }

  /** A version's number and bytes. */
  record Version(int number, byte[] data) {}

  /**
   * The version {@code version} ("latest" or a number) of the secret.
   *
   * @throws SecretException 404 or 403 as the service answers
   */
  Version access(String project, String secret, String version) {
    String name = key(project, secret);
    if (denied.contains(name)) {
      throw new SecretException(
          403,
          "PERMISSION_DENIED",
          "Permission 'secretmanager.versions.access' denied for resource '" + name + "/versions/"
              + version + "' (or it may not exist).");
    }
    List<byte[]> list = versions.get(name);
    if (list == null) {
      throw new SecretException(404, "NOT_FOUND", "Secret [" + name + "] not found or has no versions.");
    }
    synchronized (list) {
      int n;
      if (version.equals("latest")) {
        n = list.size();
      } else {
        try {
          n = Integer.parseInt(version);
        } catch (NumberFormatException e) {
          throw new SecretException(
              400, "INVALID_ARGUMENT", "Invalid resource field value in the request: version '" + version + "'.");
        }
      }
      if (n < 1 || n > list.size()) {
        throw new SecretException(404, "NOT_FOUND", "Secret Version [" + name + "/versions/" + version + "] not found.");
      }
      return new Version(n, list.get(n - 1));
    }
  }

  /** An error in Google's shape: HTTP status, canonical status name, message. */
  static final class SecretException extends RuntimeException {
    final int httpCode;
    final String status;

    SecretException(int httpCode, String status, String message) {
      super(message, null, false, false);
      this.httpCode = httpCode;
      this.status = status;
    }
  }
}
