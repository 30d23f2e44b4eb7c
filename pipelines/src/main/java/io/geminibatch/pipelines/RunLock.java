package io.geminibatch.pipelines;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * One run at a time per staging location: the file {@code run.lock} in it names its holder (pid,
 * host, start time) and a heartbeat the holder rewrites every {@value #HEARTBEAT_SECONDS} s. A
 * second run finds it and stops with a message naming the holder. A lock its holder no longer
 * holds is taken over, so a crashed or killed run never blocks the next one for long:
 *
 * <ul>
 *   <li>on the same host, as soon as the holder's process is gone;
 *   <li>from another host (a shared gs:// location), once the heartbeat is {@value
 *       #STALE_SECONDS} s old.
 * </ul>
 *
 * <p>On a local location the lock is created atomically ({@link Files#createFile}); on other file
 * systems, which Beam gives no exclusive create, it is written and read back, and the heartbeat
 * checks it is still this run's.
 */
final class RunLock implements AutoCloseable {
  static final String FILE = "run.lock";
  static final long HEARTBEAT_SECONDS = 10;
  static final long STALE_SECONDS = 60;

  /** Another live run holds the location. */
  static final class HeldException extends IOException {
    HeldException(String message) {
      super(message);
    }
  }

  private final String path;
  private final Path local;
  private final Properties mine;
  private final ScheduledExecutorService heartbeat;
  private volatile boolean released;

  private RunLock(String path, Path local, Properties mine) {
    this.path = path;
    this.local = local;
    this.mine = mine;
    this.heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gemini-batch-lock-heartbeat");
              t.setDaemon(true);
              return t;
            });
  }

  /** Takes the lock of {@code location}, or throws {@link HeldException} naming its holder. */
  static RunLock acquire(StagingLocations.Location location) throws IOException {
    String path = location.path + FILE;
    Path dir = StagingLocations.localDir(location);
    Properties mine = new Properties();
    mine.setProperty("pid", Long.toString(ProcessHandle.current().pid()));
    // The process the user started, when this run is its child JVM (ChildJvm): named to the user.
    ChildJvm.launcherPid(System.getenv()).ifPresent(pid -> mine.setProperty("launcher", Long.toString(pid)));
    mine.setProperty("host", host());
    mine.setProperty("started", Instant.now().toString());
    mine.setProperty("token", UUID.randomUUID().toString());
    RunLock lock = new RunLock(path, dir == null ? null : dir.resolve(FILE), mine);
    for (int attempt = 0; attempt < 3; attempt++) {
      if (lock.tryCreate()) {
        lock.heartbeat.scheduleWithFixedDelay(lock::beat, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS, TimeUnit.SECONDS);
        return lock;
      }
      Properties holder = lock.read();
      if (holder != null && isLive(holder)) {
        throw new HeldException(
            "another run of this command holds its staging location " + location.path + " (pid "
                + holder.getProperty("launcher", holder.getProperty("pid")) + " on " + holder.getProperty("host") + ", started "
                + holder.getProperty("started") + "): wait for it to end, or stop it first (Ctrl-C;"
                + " its jobs keep running and the next run collects them). A lock whose run has died"
                + " is taken over at once on the same host, after " + STALE_SECONDS + " s without a"
                + " heartbeat from another; " + FILE + " in that location names its holder.");
      }
      lock.delete(); // stale: its holder is gone
    }
    throw new HeldException("cannot take the lock " + path + ": other runs keep taking it");
  }

  /** Whether the run that wrote {@code holder} still holds its lock. */
  static boolean isLive(Properties holder) {
    long beat;
    try {
      beat = Long.parseLong(holder.getProperty("heartbeat", "0"));
    } catch (NumberFormatException e) {
      return false;
    }
    if (host().equals(holder.getProperty("host"))) {
      try {
        long pid = Long.parseLong(holder.getProperty("pid", "-1"));
        Instant started = Instant.parse(holder.getProperty("started"));
        // Alive, and not a later process that was given the same pid.
        return ProcessHandle.of(pid)
            .filter(ProcessHandle::isAlive)
            .map(p -> p.info().startInstant().map(s -> !s.isAfter(started.plusSeconds(1))).orElse(true))
            .orElse(false);
      } catch (RuntimeException e) {
        return false;
      }
    }
    return System.currentTimeMillis() - beat < Duration.ofSeconds(STALE_SECONDS).toMillis();
  }

  private boolean tryCreate() throws IOException {
    mine.setProperty("heartbeat", Long.toString(System.currentTimeMillis()));
    byte[] content = text(mine);
    if (local != null) {
      Files.createDirectories(local.getParent());
      try {
        Files.write(Files.createFile(local), content);
        return true;
      } catch (FileAlreadyExistsException e) {
        return false;
      }
    }
    if (read() != null) {
      return false;
    }
    write(content);
    Properties back = read();
    return back != null && mine.getProperty("token").equals(back.getProperty("token"));
  }

  /** Rewrites the heartbeat, while the lock is still this run's. */
  private void beat() {
    try {
      Properties now = read();
      if (released || now == null || !mine.getProperty("token").equals(now.getProperty("token"))) {
        return;
      }
      mine.setProperty("heartbeat", Long.toString(System.currentTimeMillis()));
      write(text(mine));
    } catch (IOException e) {
      // the next beat tries again; a missed beat only matters after STALE_SECONDS
    }
  }

  /** The lock's content, or null when there is none. */
  Properties read() throws IOException {
    Properties p = new Properties();
    try {
      if (local != null) {
        try (InputStream in = Files.newInputStream(local)) {
          p.load(in);
        }
      } else {
        if (!FileSystems.match(path, org.apache.beam.sdk.io.fs.EmptyMatchTreatment.ALLOW).metadata().isEmpty()) {
          try (InputStream in = Channels.newInputStream(FileSystems.open(resource()))) {
            p.load(in);
          }
        } else {
          return null;
        }
      }
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      return null;
    }
    return p;
  }

  private void write(byte[] content) throws IOException {
    if (local != null) {
      Path tmp = local.resolveSibling(FILE + "." + mine.getProperty("token") + ".tmp");
      Files.write(tmp, content);
      Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return;
    }
    try (OutputStream out = Channels.newOutputStream(FileSystems.create(resource(), "text/plain"))) {
      out.write(content);
    }
  }

  private void delete() throws IOException {
    if (local != null) {
      Files.deleteIfExists(local);
    } else {
      FileSystems.delete(List.of(resource()), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
    }
  }

  private ResourceId resource() {
    return FileSystems.matchNewResource(path, false);
  }

  private static byte[] text(Properties p) {
    StringBuilder sb = new StringBuilder("# gemini-batch: the run that uses this staging location\n");
    for (String k : List.of("pid", "launcher", "host", "started", "heartbeat", "token")) {
      if (p.getProperty(k) != null) {
        sb.append(k).append('=').append(p.getProperty(k)).append('\n');
      }
    }
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown-host";
    }
  }

  /** Stops the heartbeat and deletes the lock, if it is still this run's. Safe to call twice. */
  @Override
  public synchronized void close() {
    if (released) {
      return;
    }
    released = true;
    heartbeat.shutdownNow();
    try {
      Properties now = read();
      if (now != null && mine.getProperty("token").equals(now.getProperty("token"))) {
        delete();
      }
    } catch (IOException e) {
      // left behind: the next run sees its holder is gone and takes it over
    }
  }
}
