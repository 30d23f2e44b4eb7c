import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CI helper (java GcsObjects.java ...), plain Cloud Storage JSON API calls to the emulator:
 *   put BASE_URL BUCKET NAME FILE     upload a file as an object
 *   lines BASE_URL BUCKET PREFIX      print the number of lines in the objects under PREFIX
 */
public class GcsObjects {
  public static void main(String[] a) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = a[1] + "/storage/v1/b/" + a[2];
    if (a[0].equals("put")) {
      HttpResponse<String> r = http.send(
          HttpRequest.newBuilder(URI.create(a[1] + "/upload/storage/v1/b/" + a[2] + "/o?uploadType=media&name=" + a[3]))
              .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofFile(Path.of(a[4]))).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) throw new IllegalStateException(r.statusCode() + " " + r.body());
      return;
    }
    String list = http.send(HttpRequest.newBuilder(URI.create(base + "/o?prefix=" + a[3])).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    long lines = 0;
    Matcher m = Pattern.compile("\"name\":\"([^\"]+)\"").matcher(list);
    while (m.find()) {
      String name = m.group(1).replace("/", "%2F");
      String body = http.send(HttpRequest.newBuilder(URI.create(a[1] + "/download/storage/v1/b/" + a[2] + "/o/" + name + "?alt=media")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      lines += body.lines().filter(l -> !l.isBlank()).count();
    }
    System.out.println(lines);
  }
}
