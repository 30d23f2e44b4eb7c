package io.geminibatch.testing.gcs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.cloud.NoCredentials;
import com.google.cloud.ReadChannel;
import com.google.cloud.WriteChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Bucket;
import com.google.cloud.storage.BucketInfo;
import com.google.cloud.storage.CopyWriter;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageException;
import com.google.cloud.storage.StorageOptions;
import io.geminibatch.testing.GeminiEmulator;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Google's own Cloud Storage client (google-cloud-storage, the version Beam's BOM pins),
 * unchanged but for host, project and credentials, against the emulator over HTTP.
 */
class GoogleStorageClientTest {
  private static GeminiEmulator emulator;
  private static Storage storage;

  @BeforeAll
  static void start() throws Exception {
    emulator = GeminiEmulator.builder().start();
    storage =
        StorageOptions.http()
            .setHost(emulator.baseUrl())
            .setProjectId("test-project")
            .setCredentials(NoCredentials.getInstance())
            .build()
            .getService();
    storage.create(BucketInfo.of("bkt"));
  }

  @AfterAll
  static void stop() throws Exception {
    storage.close();
    emulator.close();
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void bucketsCreateGetList() {
    Bucket b = storage.get("bkt");
    assertNotNull(b);
    assertEquals("bkt", b.getName());
    assertNull(storage.get("no-such-bucket"));
    storage.create(BucketInfo.of("second-bucket"));
    List<String> names = new ArrayList<>();
    storage.list().iterateAll().forEach(x -> names.add(x.getName()));
    assertTrue(names.containsAll(List.of("bkt", "second-bucket")), names.toString());
    StorageException e = assertThrows(StorageException.class, () -> storage.create(BucketInfo.of("bkt")));
    assertEquals(409, e.getCode());
  }

  @Test
  void multipartUploadIsGzippedAndHashed() throws Exception {
    byte[] content = "hello, cloud storage\n".repeat(100).getBytes(StandardCharsets.UTF_8);
    Blob blob =
        storage.create(
            BlobInfo.newBuilder("bkt", "mp/small.txt").setContentType("text/plain").build(), content);
    assertEquals(content.length, blob.getSize());
    assertEquals(Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(content)), blob.getMd5());
    CRC32C crc = new CRC32C();
    crc.update(content);
    assertEquals(emulator.storage().get("bkt", "mp/small.txt").crc32cBase64(), blob.getCrc32c());
    assertEquals((int) crc.getValue(), emulator.storage().get("bkt", "mp/small.txt").crc32c());
    assertEquals("text/plain", storage.get(BlobId.of("bkt", "mp/small.txt")).getContentType());
    assertArrayEquals(content, storage.readAllBytes(BlobId.of("bkt", "mp/small.txt")));
  }

  @Test
  void resumableWritesAcrossChunkBoundaries() throws Exception {
    int chunk = 256 * 1024;
    for (int size : new int[] {0, 5, chunk - 1, chunk, chunk + 1, 3 * chunk + 7}) {
      byte[] content = bytes(size, size);
      String name = "rs/obj-" + size;
      try (WriteChannel w = storage.writer(BlobInfo.newBuilder("bkt", name).build())) {
        w.setChunkSize(chunk);
        ByteBuffer src = ByteBuffer.wrap(content);
        while (src.hasRemaining()) {
          ByteBuffer piece = src.slice();
          piece.limit(Math.min(piece.remaining(), 100_000));
          src.position(src.position() + w.write(piece));
        }
      }
      Blob got = storage.get(BlobId.of("bkt", name));
      assertEquals(size, got.getSize(), name);
      assertArrayEquals(content, storage.readAllBytes(BlobId.of("bkt", name)), name);
      try (InputStream in = emulator.storage().openObject("bkt", name)) {
        assertArrayEquals(content, in.readAllBytes(), name);
      }
    }
    assertTrue(emulator.storage().calls("storage.objects.insert.chunk") > 3);
  }

  @Test
  void readerSeeksWithRange() throws Exception {
    byte[] content = bytes(100_000, 7);
    emulator.storage().putObject("bkt", "rd/data.bin", new java.io.ByteArrayInputStream(content));
    for (int at : new int[] {0, 1, 65_535, 65_536, 99_999}) {
      try (ReadChannel r = storage.reader(BlobId.of("bkt", "rd/data.bin"))) {
        r.seek(at);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Channels.newInputStream(r).transferTo(out);
        assertArrayEquals(java.util.Arrays.copyOfRange(content, at, content.length), out.toByteArray(), "at " + at);
      }
    }
  }

  @Test
  void listWithPrefixDelimiterAndPages() throws Exception {
    for (String n : List.of("ls/a.txt", "ls/b.txt", "ls/c.txt", "ls/d/x.txt", "ls/d/y.txt", "ls/e/z.txt", "lt.txt")) {
      emulator.storage().putObject("bkt", n, new java.io.ByteArrayInputStream(n.getBytes(StandardCharsets.UTF_8)));
    }
    List<String> seen = new ArrayList<>();
    storage
        .list("bkt", Storage.BlobListOption.prefix("ls/"), Storage.BlobListOption.currentDirectory(), Storage.BlobListOption.pageSize(2))
        .iterateAll()
        .forEach(b -> seen.add(b.isDirectory() ? b.getName() + "(dir)" : b.getName()));
    assertEquals(List.of("ls/a.txt", "ls/b.txt", "ls/c.txt", "ls/d/(dir)", "ls/e/(dir)"), sorted(seen));
    List<String> flat = new ArrayList<>();
    storage.list("bkt", Storage.BlobListOption.prefix("ls/"), Storage.BlobListOption.pageSize(3))
        .iterateAll().forEach(b -> flat.add(b.getName()));
    assertEquals(List.of("ls/a.txt", "ls/b.txt", "ls/c.txt", "ls/d/x.txt", "ls/d/y.txt", "ls/e/z.txt"), flat);
  }

  private static List<String> sorted(List<String> l) {
    List<String> c = new ArrayList<>(l);
    c.sort(null);
    return c;
  }

  @Test
  void copyRewriteComposeAndDelete() throws Exception {
    storage.create(BlobInfo.newBuilder("bkt", "cp/one").build(), "one,".getBytes(StandardCharsets.UTF_8));
    storage.create(BlobInfo.newBuilder("bkt", "cp/two").build(), "two".getBytes(StandardCharsets.UTF_8));
    CopyWriter cw = storage.copy(Storage.CopyRequest.of("bkt", "cp/one", BlobId.of("bkt", "cp/one-copy")));
    assertEquals(4, cw.getResult().getSize());
    assertTrue(cw.isDone());
    Blob composed =
        storage.compose(
            Storage.ComposeRequest.newBuilder()
                .addSource("cp/one", "cp/two")
                .setTarget(BlobInfo.newBuilder("bkt", "cp/both").build())
                .build());
    assertEquals("one,two", new String(storage.readAllBytes(composed.getBlobId()), StandardCharsets.UTF_8));
    assertTrue(storage.delete(BlobId.of("bkt", "cp/one-copy")));
    assertFalse(storage.delete(BlobId.of("bkt", "cp/one-copy")));
    assertNull(storage.get(BlobId.of("bkt", "cp/one-copy")));
  }

  @Test
  void preconditionsFailWith412() {
    BlobInfo info = BlobInfo.newBuilder("bkt", "pre/x").build();
    Blob first = storage.create(info, new byte[] {1}, Storage.BlobTargetOption.doesNotExist());
    StorageException e =
        assertThrows(
            StorageException.class,
            () -> storage.create(info, new byte[] {2}, Storage.BlobTargetOption.doesNotExist()));
    assertEquals(412, e.getCode());
    Blob second =
        storage.create(
            BlobInfo.newBuilder(first.getBlobId()).build(), new byte[] {3}, Storage.BlobTargetOption.generationMatch());
    assertTrue(second.getGeneration() > first.getGeneration());
    StorageException stale =
        assertThrows(
            StorageException.class,
            () -> storage.delete(first.getBlobId(), Storage.BlobSourceOption.generationMatch()));
    assertEquals(412, stale.getCode());
    StorageException meta =
        assertThrows(
            StorageException.class,
            () -> storage.delete(BlobId.of("bkt", "pre/x"), Storage.BlobSourceOption.metagenerationMatch(7)));
    assertEquals(412, meta.getCode());
    assertTrue(storage.delete(second.getBlobId(), Storage.BlobSourceOption.generationMatch()));
  }

  @Test
  void errorsCarryGooglesMessages() {
    StorageException e =
        assertThrows(StorageException.class, () -> storage.readAllBytes(BlobId.of("bkt", "no/such")));
    assertEquals(404, e.getCode());
    assertTrue(e.getMessage().contains("No such object: bkt/no/such"), e.getMessage());
    emulator.storage().createBucket("locked");
    emulator.storage().denyAccess("locked");
    StorageException denied =
        assertThrows(StorageException.class, () -> storage.create(BlobInfo.newBuilder("locked", "x").build(), new byte[1]));
    assertEquals(403, denied.getCode());
    assertTrue(denied.getMessage().contains("storage.objects.create"), denied.getMessage());
  }

  @Test
  void theClientRidesOutInjected503sAndDroppedDownloads() throws Exception {
    byte[] content = bytes(200_000, 9);
    emulator.storage().putObject("bkt", "flaky/data.bin", new java.io.ByteArrayInputStream(content));
    try {
      // The fault streams are seeded: the same calls meet the same faults on every run.
      emulator.storage().setFaults(GcsFaults.none().withUnavailableRate(0.5));
      for (int i = 0; i < 3; i++) {
        assertEquals(content.length, storage.get(BlobId.of("bkt", "flaky/data.bin")).getSize());
      }
      emulator.storage().setFaults(GcsFaults.none().withDropDownloadRate(0.5));
      for (int i = 0; i < 4; i++) {
        assertArrayEquals(content, storage.readAllBytes(BlobId.of("bkt", "flaky/data.bin")));
      }
    } finally {
      emulator.storage().setFaults(GcsFaults.none());
    }
    assertTrue(emulator.storage().calls("storage.fault.unavailable") > 0);
    assertTrue(emulator.storage().calls("storage.fault.dropDownload") > 0);
  }
}
