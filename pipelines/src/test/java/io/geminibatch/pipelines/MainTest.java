package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class MainTest {
  @Test
  void theHttpClientReadsInLargeBuffersUnlessTheUserSaidOtherwise() {
    Properties none = new Properties();
    Main.bulkHttpBuffers(none);
    assertEquals("1048576", none.getProperty("jdk.httpclient.bufsize"));

    Properties users = new Properties();
    users.setProperty("jdk.httpclient.bufsize", "65536");
    Main.bulkHttpBuffers(users);
    assertEquals("65536", users.getProperty("jdk.httpclient.bufsize"));
  }
}
