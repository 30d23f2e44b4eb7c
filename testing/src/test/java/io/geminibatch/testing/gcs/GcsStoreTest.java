package io.geminibatch.testing.gcs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-process API other emulated APIs use (no HTTP). */
class GcsStoreTest {
  @TempDir Path dir;

  @Test
  void writeReadListDelete() throws Exception {
    GcsStore gcs = new GcsStore(dir, 0);
    gcs.createBucket("bkt");
    byte[] big = new byte[(1 << 16) * 3 + 5];
    new Random(1).nextBytes(big);
    Path file = dir.resolve("in.bin");
    Files.write(file, big);
    GcsObject a = gcs.putObject("bkt", "in/a.bin", file);
    assertEquals(big.length, a.size());
    try (OutputStream out = gcs.newObjectWriter("bkt", "out/b.jsonl", "application/jsonl")) {
      out.write("{}\n".getBytes());
      assertTrue(gcs.getObject("bkt", "out/b.jsonl").isEmpty(), "visible only when closed");
    }
    assertEquals(3, gcs.getObject("bkt", "out/b.jsonl").orElseThrow().size());
    try (InputStream in = gcs.openObject("bkt", "in/a.bin")) {
      assertArrayEquals(big, in.readAllBytes());
    }
    // A reader keeps its generation while the object is replaced.
    try (InputStream old = gcs.openObject("bkt", "in/a.bin")) {
      GcsObject b = gcs.putObject("bkt", "in/a.bin", new ByteArrayInputStream(new byte[] {1}));
      assertTrue(b.generation() > a.generation());
      assertArrayEquals(big, old.readAllBytes());
    }
    assertEquals(List.of("in/a.bin"), gcs.listObjects("bkt", "in/").stream().map(GcsObject::name).toList());
    assertTrue(gcs.deleteObject("bkt", "in/a.bin"));
    assertFalse(gcs.deleteObject("bkt", "in/a.bin"));
    GcsException e = assertThrows(GcsException.class, () -> gcs.openObject("bkt", "in/a.bin"));
    assertEquals(404, e.httpCode());
    assertEquals(404, assertThrows(GcsException.class, () -> gcs.listObjects("nope", "")).httpCode());
  }

  @Test
  void pagesFoldPrefixesAndNeverRepeat() throws Exception {
    GcsStore gcs = new GcsStore(dir, 0);
    gcs.createBucket("bkt");
    for (String n : List.of("a", "b/1", "b/2", "b/3", "c", "d/1", "e")) {
      gcs.putObject("bkt", n, new ByteArrayInputStream(new byte[0]));
    }
    for (int max = 1; max <= 8; max++) {
      List<String> seen = new java.util.ArrayList<>();
      String token = null;
      do {
        GcsStore.Page p = gcs.list("bkt", "", "/", token, max);
        assertTrue(p.items().size() + p.prefixes().size() <= max);
        p.items().forEach(o -> seen.add(o.name()));
        seen.addAll(p.prefixes());
        token = p.nextPageToken();
      } while (token != null);
      seen.sort(null);
      assertEquals(List.of("a", "b/", "c", "d/", "e"), seen, "max " + max);
    }
  }
}
