package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;

/**
 * Not a test: the emulator's per-line hot spots in one thread, on ~100 MB of 1 KB prompts, scaled
 * to 1M prompts: line counting (the byte-by-byte version before vs LineCounter), result lines the
 * Jackson way vs FastGenerateLine, SHA-256 of a 1.2 GB result, and parse+responseId.
 */
public class HotBench {
  static long oldScan(byte[] b, int off, int len, long[] st) {
    long n = st[0]; boolean content = st[1] != 0;
    for (int i = off, end = off + len; i < end; i++) {
      byte c = b[i];
      if (c == '\n') { if (content) { n++; content = false; } }
      else if (c != ' ' && c != '\t' && c != '\r') content = true;
    }
    st[0] = n; st[1] = content ? 1 : 0; return n;
  }
  static long cpu() { return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime(); }

  public static void main(String[] a) throws Exception {
    Random rnd = new Random(1);
    StringBuilder sb = new StringBuilder();
    String al = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,;:!?-";
    for (int i = 0; i < 100_000; i++) {
      sb.append("{\"key\":\"k-").append(i).append("\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"");
      for (int k = 0; k < 950; k++) sb.append(al.charAt(rnd.nextInt(al.length())));
      sb.append("\"}],\"role\":\"user\"}]}}\n");
    }
    byte[] data = sb.toString().getBytes(StandardCharsets.UTF_8); // ~100 MB
    double gbScale = 1e9 / data.length; // per 1 GB of input (1M prompts)
    for (int rep = 0; rep < 3; rep++) {
      long t = cpu(); long[] st = new long[2];
      for (int o = 0; o < data.length; o += 65536) oldScan(data, o, Math.min(65536, data.length - o), st);
      double oldLc = (cpu() - t) / 1e9 * gbScale;
      t = cpu(); LineCounter lc = new LineCounter();
      for (int o = 0; o < data.length; o += 65536) lc.scan(data, o, Math.min(65536, data.length - o));
      double newLc = (cpu() - t) / 1e9 * gbScale;
      if (lc.total() != st[0]) throw new AssertionError();
      // processing: Jackson path vs fast path, output to a null sink
      t = cpu();
      OutputStream sink = OutputStream.nullOutputStream();
      EmulatorResponder.Prompt p = new EmulatorResponder.Prompt();
      try (JsonGenerator g = Json.FACTORY.createGenerator(sink)) {
        g.setRootValueSeparator(null);
        LineReader r = new LineReader(new ByteArrayInputStream(data));
        while (r.next()) { JobStore.writeLine(Job.Kind.GENERATE, "gemini-2.5-flash", null, r.array, r.offset, r.length, g, false, p); g.writeRaw('\n'); }
      }
      double slow = (cpu() - t) / 1e9 * gbScale;
      t = cpu();
      FastGenerateLine f = new FastGenerateLine(JobStore.jsonString("gemini-2.5-flash"));
      LineReader r = new LineReader(new ByteArrayInputStream(data));
      while (r.next()) { if (!f.parse(r.array, r.offset, r.length, p)) throw new AssertionError(); f.writeResponse(p, sink); }
      double fast = (cpu() - t) / 1e9 * gbScale;
      t = cpu();
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      for (int k = 0; k < 12; k++) d.update(data); d.digest(); // 1.2 GB-equivalent per 1 GB scale
      double sha = (cpu() - t) / 1e9 * gbScale;
      t = cpu();
      byte[] out = new byte[23];
      r = new LineReader(new ByteArrayInputStream(data));
      long ids = 0;
      while (r.next()) { f.parse(r.array, r.offset, r.length, p); EmulatorResponder.responseId(p, out, 0); ids++; }
      double rid = (cpu() - t) / 1e9 * gbScale;
      System.out.printf("per 1M prompts (CPU-s): lineCount old %.2f new %.2f | line processing (read+parse+write, Jackson) %.2f fast %.2f | result SHA-256 (1.2 GB) %.2f | parse+responseId %.2f%n",
          oldLc, newLc, slow, fast, sha / 10, rid);
    }
  }
}
