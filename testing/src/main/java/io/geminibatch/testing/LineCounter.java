package io.geminibatch.testing;

/** Counts non-blank lines of a byte stream fed in pieces (what a JSONL file's request count is). */
final class LineCounter {
  long lines;
  private boolean lineHasContent;

  void scan(byte[] b, int off, int len) {
    long n = lines;
    boolean content = lineHasContent;
    for (int i = off, end = off + len; i < end; i++) {
      byte c = b[i];
      if (c == '\n') {
        if (content) {
          n++;
          content = false;
        }
      } else if (c != ' ' && c != '\t' && c != '\r') {
        content = true;
      }
    }
    lines = n;
    lineHasContent = content;
  }

  /** Lines counted, the unterminated last one included. */
  long total() {
    return lines + (lineHasContent ? 1 : 0);
  }

  LineCounter copy() {
    LineCounter c = new LineCounter();
    c.lines = lines;
    c.lineHasContent = lineHasContent;
    return c;
  }
}
