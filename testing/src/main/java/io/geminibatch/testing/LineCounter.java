package io.geminibatch.testing;

/** Counts non-blank lines of a byte stream fed in pieces (what a JSONL file's request count is). */
final class LineCounter {
  long lines;
  private boolean lineHasContent;

  /**
   * A line counts when it has a byte other than space, tab and CR. Only a line's leading bytes
   * are looked at one by one: once it has content, the scan jumps to its '\n' eight bytes at a
   * time.
   */
  void scan(byte[] b, int off, int len) {
    long n = lines;
    boolean content = lineHasContent;
    int i = off;
    int end = off + len;
    while (i < end) {
      if (content) {
        i = Swar.indexOfNewline(b, i, end);
        if (i == end) {
          break;
        }
        n++;
        content = false;
        i++;
      } else {
        byte c = b[i++];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          content = true;
        }
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
