package io.geminibatch.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/** The Files API's storage: metadata in memory, bytes on disk, streamed both ways. */
final class FileStore {
  /** The Files API's per-file limit. */
  static final long MAX_FILE_BYTES = 2L * 1024 * 1024 * 1024;

  static final Duration RETENTION = Duration.ofHours(48);
  private static final Pattern FILE_ID = Pattern.compile("[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?");
  /**
   * An upload chunk is stored in pieces of this size: the HTTP server hands the body over 8 KB at
   * a time, and a write (and a digest update) per 8 KB cost more than the bytes.
   */
  private static final int UPLOAD_BUFFER = 1 << 18;

  private final Path filesDir;
  private final Path uploadsDir;
  private final StatsRecorder stats;
  private final ConcurrentHashMap<String, StoredFile> files = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, UploadSession> sessions = new ConcurrentHashMap<>();
  /** File ids taken by uploads not yet finalized. */
  private final Set<String> reserved = ConcurrentHashMap.newKeySet();
  private final AtomicLong seq = new AtomicLong();

  FileStore(Path dataDir, StatsRecorder stats) throws IOException {
    this.filesDir = Files.createDirectories(dataDir.resolve("files"));
    this.uploadsDir = Files.createDirectories(dataDir.resolve("uploads"));
    this.stats = stats;
  }

  /** A fresh path for a file being written (results, uploads), on the same file system. */
  Path tempPath(String prefix) {
    return uploadsDir.resolve(prefix + "-" + randomId(16) + ".tmp");
  }

  // --- uploads ---------------------------------------------------------------------------------

  UploadSession startUpload(
      String requestedName, String displayName, String mimeType, Long declaredSize)
      throws IOException {
    String id;
    if (requestedName == null || requestedName.isEmpty()) {
      do {
        id = randomId(12);
      } while (files.containsKey(id) || !reserved.add(id));
    } else {
      id = requestedName.startsWith("files/") ? requestedName.substring(6) : requestedName;
      if (!FILE_ID.matcher(id).matches()) {
        throw ApiError.invalidArgument(
            "Invalid value at 'file.name' (\"" + requestedName + "\"): the file ID must be 1 to 40"
                + " characters, lowercase alphanumeric or dashes, not starting or ending with a dash.");
      }
      if (fileOrNull(id) != null || !reserved.add(id)) {
        throw ApiError.alreadyExists("File " + "files/" + id + " already exists.");
      }
    }
    String uploadId = randomId(32);
    Path tmp = tempPath("upload");
    UploadSession s = new UploadSession(uploadId, id, displayName, mimeType, declaredSize, tmp);
    s.channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    s.digest = sha256();
    sessions.put(uploadId, s);
    return s;
  }

  UploadSession session(String uploadId) {
    UploadSession s = uploadId == null ? null : sessions.get(uploadId);
    if (s == null) {
      throw ApiError.notFound("No upload session with this upload_id: it is unknown or cancelled.");
    }
    return s;
  }

  /**
   * Appends a chunk at {@code offset}; with {@code finalize}, turns the upload into a file. A
   * chunk whose body breaks off is rolled back, so that a query reports the bytes before it.
   */
  void chunk(UploadSession s, long offset, long contentLength, InputStream body, boolean finalize)
      throws IOException {
    synchronized (s) {
      if (s.result != null) {
        // A retry of the finalizing chunk whose reply was lost gets the same answer.
        if (finalize && (offset == s.received || offset + contentLength == s.received)) {
          return;
        }
        throw ApiError.invalidArgument("The upload " + s.fileId + " is already finalized.");
      }
      if (s.channel == null) {
        throw ApiError.notFound("No upload session with this upload_id: it is unknown or cancelled.");
      }
      if (offset != s.received) {
        throw ApiError.invalidArgument(
            "Invalid X-Goog-Upload-Offset: the chunk starts at byte "
                + offset
                + " but "
                + s.received
                + " bytes have been received so far.");
      }
      long limit = s.declaredSize != null ? s.declaredSize : MAX_FILE_BYTES;
      long before = s.received;
      MessageDigest digestBefore = clone(s.digest);
      LineCounter linesBefore = s.lines.copy();
      boolean ok = false;
      try {
        byte[] buf = new byte[UPLOAD_BUFFER];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        int n;
        while ((n = fill(body, buf)) > 0) {
          if (s.received + n > limit) {
            throw ApiError.invalidArgument(
                s.declaredSize != null
                    ? "The upload exceeds the size declared in X-Goog-Upload-Header-Content-Length ("
                        + s.declaredSize
                        + " bytes)."
                    : "The file exceeds the maximum size of " + MAX_FILE_BYTES + " bytes.");
          }
          bb.clear().limit(n);
          while (bb.hasRemaining()) {
            s.channel.write(bb, s.received + bb.position());
          }
          s.digest.update(buf, 0, n);
          s.lines.scan(buf, 0, n);
          s.received += n;
        }
        ok = true;
      } finally {
        if (!ok) {
          s.channel.truncate(before);
          s.received = before;
          s.digest = digestBefore;
          s.lines = linesBefore;
        }
      }
      stats.uploaded(s.received - before);
      if (!finalize) {
        return;
      }
      if (s.received == 0) {
        throw ApiError.invalidArgument(
            "The upload is empty: a file must have at least one byte.");
      }
      if (s.declaredSize != null && s.received != s.declaredSize) {
        throw ApiError.invalidArgument(
            "The upload was finalized after "
                + s.received
                + " bytes but X-Goog-Upload-Header-Content-Length declared "
                + s.declaredSize
                + ".");
      }
      s.channel.close();
      s.channel = null;
      Path target = filesDir.resolve(s.fileId);
      Files.move(s.tmp, target, StandardCopyOption.REPLACE_EXISTING);
      String sha = Base64.getEncoder().encodeToString(s.digest.digest());
      s.result = register(s.fileId, s.displayName, s.mimeType, s.received, sha, false, target, s.lines.total());
      reserved.remove(s.fileId);
    }
  }

  /** Reads until {@code buf} is full or the body ends; the bytes read (0 at the end). */
  private static int fill(InputStream body, byte[] buf) throws IOException {
    int n = 0;
    while (n < buf.length) {
      int k = body.read(buf, n, buf.length - n);
      if (k <= 0) {
        break;
      }
      n += k;
    }
    return n;
  }

  /** Cancels an upload: its bytes are discarded and its upload_id forgotten. */
  void cancel(UploadSession s) throws IOException {
    synchronized (s) {
      sessions.remove(s.uploadId);
      if (s.channel != null) {
        s.channel.close();
        s.channel = null;
        Files.deleteIfExists(s.tmp);
        reserved.remove(s.fileId);
      }
    }
  }

  // --- files -----------------------------------------------------------------------------------

  /** Registers a result file written to {@code tmp}; moves it into place. */
  StoredFile addGenerated(String id, Path tmp, String mimeType, String sha256Base64, long lines)
      throws IOException {
    Path target = filesDir.resolve(id);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    return register(id, null, mimeType, Files.size(target), sha256Base64, true, target, lines);
  }

  private StoredFile register(
      String id,
      String displayName,
      String mimeType,
      long size,
      String sha,
      boolean generated,
      Path path,
      long lines) {
    Instant now = Instant.now();
    StoredFile f =
        new StoredFile(
            id, seq.incrementAndGet(), displayName, mimeType, size, now, now.plus(RETENTION), sha,
            generated, path, lines);
    files.put(id, f);
    return f;
  }

  /** The file named {@code files/<id>} or {@code <id>}; 404 when unknown. */
  StoredFile get(String nameOrId) {
    String id = nameOrId.startsWith("files/") ? nameOrId.substring(6) : nameOrId;
    StoredFile f = fileOrNull(id);
    if (f == null) {
      throw ApiError.notFound("File files/" + id + " not found.");
    }
    return f;
  }

  private StoredFile fileOrNull(String id) {
    StoredFile f = files.get(id);
    if (f != null && Instant.now().isAfter(f.expirationTime)) {
      remove(f);
      return null;
    }
    return f;
  }

  void delete(String id) throws IOException {
    remove(get(id));
  }

  private void remove(StoredFile f) {
    if (files.remove(f.id, f)) {
      try {
        Files.deleteIfExists(f.path);
      } catch (IOException e) {
        // A file open for download on some platforms: its bytes go with the data dir.
      }
    }
  }

  long count() {
    return files.size();
  }

  /** One page, newest first; the token is the position after the last file returned. */
  Page<StoredFile> list(int pageSize, String pageToken) {
    long before = PageToken.decode("files", pageToken);
    List<StoredFile> all = new ArrayList<>();
    for (StoredFile f : files.values()) {
      if (f.seq < before && fileOrNull(f.id) != null) {
        all.add(f);
      }
    }
    all.sort(Comparator.comparingLong((StoredFile f) -> f.seq).reversed());
    if (all.size() <= pageSize) {
      return new Page<>(all, null);
    }
    List<StoredFile> page = new ArrayList<>(all.subList(0, pageSize));
    return new Page<>(page, PageToken.encode("files", page.get(pageSize - 1).seq));
  }

  // --- helpers ---------------------------------------------------------------------------------

  static String randomId(int length) {
    final String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] c = new char[length];
    for (int i = 0; i < length; i++) {
      c[i] = alphabet.charAt(r.nextInt(alphabet.length()));
    }
    return new String(c);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static MessageDigest clone(MessageDigest d) {
    try {
      return (MessageDigest) d.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A page of a list and the token of the next one (null on the last page). */
  static final class Page<T> {
    final List<T> items;
    final String nextPageToken;

    Page(List<T> items, String nextPageToken) {
      this.items = items;
      this.nextPageToken = nextPageToken;
    }
  }

  /** Opaque page tokens: base64url of "kind:sequence". */
  static final class PageToken {
    private PageToken() {}

    static String encode(String kind, long seq) {
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString((kind + ":" + seq).getBytes(StandardCharsets.UTF_8));
    }

    /** The sequence the next page starts below; Long.MAX_VALUE for the first page. */
    static long decode(String kind, String token) {
      if (token == null || token.isEmpty()) {
        return Long.MAX_VALUE;
      }
      try {
        String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        if (s.startsWith(kind + ":")) {
          return Long.parseLong(s.substring(kind.length() + 1));
        }
      } catch (IllegalArgumentException e) {
        // fall through
      }
      throw ApiError.invalidArgument("Invalid page_token: \"" + token + "\" is not a token this list returned.");
    }
  }
}
