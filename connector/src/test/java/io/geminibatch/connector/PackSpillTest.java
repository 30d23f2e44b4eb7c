package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spilled packs loaded into the reader's own arrays, against the plain decoder (fresh arrays for
 * every pack) as the oracle: the same encoding, whatever was loaded before.
 */
class PackSpillTest {
  @TempDir Path tmp;

  @Test
  void packsLoadedIntoReusedArraysEqualTheirPlainDecoding() throws IOException {
    Random random = new Random(5);
    List<Pack> packs = new ArrayList<>();
    // Sizes around the array's growth: each load may need a larger array, or fill a larger one.
    int[] lineCounts = {1, 40, 0, 3, 900, 2, 0, 1, 1500, 7, 300, 1};
    int n = 0;
    for (int lines : lineCounts) {
      if (lines == 0) {
        packs.add(Pack.of(failure("bad-" + n++)));
        continue;
      }
      Pack.Builder b = new Pack.Builder(random.nextInt(Pack.BUCKETS), 1 + random.nextInt(3), 16);
      for (int i = 0; i < lines; i++) {
        StringBuilder text = new StringBuilder();
        for (int j = random.nextInt(1200); j > 0; j--) {
          text.append((char) ('a' + random.nextInt(26)));
        }
        b.add(new Pack.Line("k" + n++, ("{\"text\":\"" + text + "\"}").getBytes(StandardCharsets.UTF_8)));
      }
      packs.add(b.build());
    }
    List<Pack> stubs = new ArrayList<>();
    PackSpill.Writer writer = new PackSpill.Writer(tmp.toString() + "/");
    for (Pack p : packs) {
      stubs.add(writer.write(p));
    }
    writer.close();

    // In order, then backwards (each read behind the one before), with one reader.
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < packs.size(); i++) {
      order.add(i);
    }
    for (int i = packs.size() - 1; i >= 0; i--) {
      order.add(i);
    }
    try (PackSpill.Reader reader = new PackSpill.Reader()) {
      for (int i : order) {
        Pack loaded = stubs.get(i).load(reader);
        assertTrue(loaded.lines.length >= loaded.size);
        assertArrayEquals(encode(packs.get(i)), encode(loaded), "pack " + i + " of " + packs.get(i).count + " lines");
        assertEquals(packs.get(i).failures.size(), loaded.failures.size());
      }
    }
  }

  private static GenerateFailure failure(String key) {
    return new GenerateFailure(key, "{}", GenerateFailure.Stage.VALIDATE, 3, "no contents", null, 0);
  }

  private static byte[] encode(Pack p) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Pack.PackCoder.INSTANCE.encode(p, out);
    return out.toByteArray();
  }
}
