package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ClassWarmerTest {
  @Test
  void nearlyEveryListedClassExistsInThisBuild() throws IOException {
    long listed;
    try (InputStream in = ClassWarmer.class.getResourceAsStream(ClassWarmer.LIST)) {
      listed = new String(in.readAllBytes(), StandardCharsets.US_ASCII).lines().count();
    }
    int loaded = ClassWarmer.loadAll();
    // A list gone stale (dependencies upgraded) would warm nothing: regenerate it (see the class).
    assertTrue(listed > 1000 && loaded >= listed * 95 / 100, loaded + " of " + listed + " listed classes loaded");
  }
}
