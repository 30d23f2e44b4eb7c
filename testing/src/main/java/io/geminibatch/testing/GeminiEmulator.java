package io.geminibatch.testing;

import com.sun.net.httpserver.HttpServer;
import io.geminibatch.testing.gcs.GcsHandler;
import io.geminibatch.testing.gcs.GcsStore;
import io.geminibatch.testing.secrets.SecretStore;
import io.geminibatch.testing.secrets.SecretsHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import io.geminibatch.testing.webhooks.Deliveries;
import io.geminibatch.testing.webhooks.WebhookService;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An emulator of the Gemini Developer API's Batch API and Files API: a real HTTP server on
 * loopback, serving {@code /v1beta} and {@code /v1} as the live service does (see {@code
 * testing/README.md} for the endpoints, the faults and the choices made where the contract is
 * silent).
 *
 * <pre>{@code
 * try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(100)).start()) {
 *   String baseUrl = emulator.baseUrl();  // http://127.0.0.1:PORT
 *   ... point a client at baseUrl with any API key ...
 *   assertEquals(1, emulator.stats().batchesCreated());
 * }
 * }</pre>
 *
 * <p>Answers come from {@link EmulatorResponder}; faults are set with {@link Faults}.
 */
public final class GeminiEmulator implements AutoCloseable {
  static {
    // Small replies must not wait for Nagle's algorithm (≈40 ms per call on loopback).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  final FileStore files;
  private final GcsStore storage;
  private final SecretStore secrets = new SecretStore();
  final JobStore jobs;
  final StatsRecorder stats = new StatsRecorder();
  final FaultDice dice;
  final String apiKey;
  final boolean verbose;

  private final long seed;
  private final Path dataDir;
  private final boolean deleteDataDir;
  private final HttpServer server;
  private final EmulatorRouter router;
  private final WebhookService webhooks;
  private final ExecutorService httpThreads;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService workers;
  private final String baseUrl;
  private volatile Faults faults;
  private volatile Quota quota;
  private volatile Duration jobLatency;
  private volatile Duration jobExpiry;

  private GeminiEmulator(Builder b) throws IOException {
    this.apiKey = b.apiKey;
    this.verbose = b.verbose;
    this.seed = b.seed;
    this.dice = new FaultDice(b.seed);
    this.faults = b.faults;
    this.quota = b.quota;
    this.jobLatency = b.jobLatency;
    this.jobExpiry = b.jobExpiry;
    this.deleteDataDir = b.dataDir == null;
    this.dataDir =
        b.dataDir == null
            ? Files.createTempDirectory("gemini-emulator-")
            : Files.createDirectories(b.dataDir);
    ScheduledThreadPoolExecutor sched =
        new ScheduledThreadPoolExecutor(1, daemonThreads("gemini-emulator-scheduler"));
    sched.setRemoveOnCancelPolicy(true);
    this.scheduler = sched;
    this.workers =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            daemonThreads("gemini-emulator-worker"));
    this.httpThreads = Executors.newCachedThreadPool(daemonThreads("gemini-emulator-http"));
    try {
      this.files = new FileStore(dataDir, stats);
      this.jobs = new JobStore(dataDir, files, stats, scheduler, workers, b.jobExpiry);
      InetAddress address = InetAddress.getByName(b.host);
      this.server = HttpServer.create(new InetSocketAddress(address, b.port), 128);
      String host = b.host.contains(":") ? "[" + b.host + "]" : b.host;
      this.baseUrl = "http://" + host + ":" + server.getAddress().getPort();
      // One router in front of every emulated API; each API package adds its routes here.
      ApiHandler api = new ApiHandler(this);
      this.router = new EmulatorRouter(api);
      this.storage = new GcsStore(dataDir.resolve("gcs"), b.seed);
      router.route(
          "cloud-storage", GcsHandler::serves, new GcsHandler(storage, this::baseUrl, b.verbose));
      router.route("secret-manager", SecretsHandler::serves, new SecretsHandler(secrets, b.verbose));
      this.webhooks = new WebhookService(api::serve, deliveries(b.webhookSettings));
      router.route("webhooks", WebhookService::claims, webhooks.handler());
      jobs.onEnd(this::batchEnded);
      server.createContext("/", router);
      server.setExecutor(httpThreads);
      server.start();
    } catch (IOException | RuntimeException e) {
      shutdownThreads();
      deleteTempDir();
      throw e;
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  private Deliveries deliveries(Deliveries.Settings settings) {
    return new Deliveries(
        settings,
        new Deliveries.Counters() {
          @Override
          public void count(String counter) {
            stats.webhook(counter);
          }

          @Override
          public void fault(String kind) {
            stats.fault(kind);
          }
        },
        new Deliveries.Dice() {
          @Override
          public boolean duplicate() {
            return dice.roll(FaultDice.Stream.WEBHOOK_DUPLICATE, faults.webhookDuplicateRate());
          }

          @Override
          public boolean delay() {
            return dice.roll(FaultDice.Stream.WEBHOOK_DELAY, faults.webhookDelayRate());
          }
        });
  }

  /** Tells the webhooks that a job ended (called once per job, by the job store). */
  private void batchEnded(Job job) {
    WebhookService.BatchEnded e;
    synchronized (job) {
      e =
          new WebhookService.BatchEnded(
              job.owner,
              job.name(),
              job.state.name(),
              job.responsesFile,
              job.errorCode,
              job.errorMessage,
              job.webhookUris,
              job.webhookUserMetadataJson);
    }
    webhooks.batchEnded(e);
  }

  /**
   * The secret that signs deliveries to the URIs of a batch's {@code webhookConfig} (the live
   * service signs those with an RS256 JWT; the emulator signs them as it signs static webhooks'
   * deliveries, with this {@code whsec_} secret).
   */
  public String webhookSigningSecret() {
    return webhooks.deliveries().dynamicSecret();
  }

  /** {@code http://HOST:PORT}, without a trailing slash: give it to a client as its base URL. */
  public String baseUrl() {
    return baseUrl;
  }

  /** The router in front of the emulated APIs (each API's package registers its paths on it). */
  EmulatorRouter router() {
    return router;
  }

  /**
   * The emulated Cloud Storage, served on this emulator's port (point {@code google-cloud-storage}
   * at {@link #baseUrl()}, Beam at {@code --gcsEndpoint=BASE_URL/storage/v1/}) and usable in
   * process by tests and by the other emulated APIs: see {@link GcsStore}.
   */
  public GcsStore storage() {
    return storage;
  }

  /**
   * The emulated Secret Manager ({@code GET /v1/projects/P/secrets/S/versions/V:access} on this
   * emulator's port): see {@link SecretStore}.
   */
  public SecretStore secrets() {
    return secrets;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Where files are stored (a temporary directory unless one was given). */
  public Path dataDir() {
    return dataDir;
  }

  /** A snapshot of the counters. */
  public EmulatorStats stats() {
    return stats.snapshot(jobs.countByState(), files.count());
  }

  /** Restarts the counters (jobs and files stay). */
  public void resetStats() {
    stats.reset();
  }

  public Faults faults() {
    return faults;
  }

  /**
   * Sets the faults for later calls and jobs, and restarts every fault stream from the seed, so
   * that the same faults and the same call sequence reproduce the same outcome.
   */
  public void setFaults(Faults faults) {
    this.faults = Objects.requireNonNull(faults, "faults");
    dice.reseed(seed);
  }

  /** The quota creates are checked against (see {@link Quota}). */
  public Quota quota() {
    return quota;
  }

  /** Sets the quota for later creates; jobs already active keep what they hold. */
  public void setQuota(Quota quota) {
    this.quota = Objects.requireNonNull(quota, "quota");
  }

  public Duration jobLatency() {
    return jobLatency;
  }

  /**
   * Time from create to a terminal state for jobs created later: half PENDING, half RUNNING
   * (RUNNING lasts at least as long as processing takes).
   */
  public void setJobLatency(Duration latency) {
    this.jobLatency = checkLatency(latency);
  }

  /**
   * Jobs created from now on stay {@code BATCH_STATE_PENDING} until {@link #releaseJobs()} (they
   * can still be cancelled, deleted or expire): a test can see a client leave while its jobs run.
   */
  public void holdJobs() {
    jobs.hold();
  }

  /** Starts the jobs {@link #holdJobs()} held, and stops holding new ones. */
  public void releaseJobs() {
    jobs.release();
  }

  public Duration jobExpiry() {
    return jobExpiry;
  }

  /** Time after which a job created later that is still PENDING or RUNNING turns EXPIRED. */
  public void setJobExpiry(Duration expiry) {
    this.jobExpiry = checkExpiry(expiry);
    jobs.setExpiry(expiry);
  }

  /** Stops the server and the jobs, and deletes the data directory if it was a temporary one. */
  @Override
  public void close() {
    server.stop(0);
    webhooks.close();
    shutdownThreads();
    deleteTempDir();
  }

  private void shutdownThreads() {
    scheduler.shutdownNow();
    workers.shutdownNow();
    httpThreads.shutdownNow();
  }

  private void deleteTempDir() {
    if (!deleteDataDir) {
      return;
    }
    try {
      Files.walkFileTree(
          dataDir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
              Files.deleteIfExists(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete the emulator's data dir " + dataDir, e);
    }
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  static Duration checkLatency(Duration d) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException("jobLatency must be zero or positive, got " + d);
    }
    return d;
  }

  static Duration checkExpiry(Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("jobExpiry must be positive, got " + d);
    }
    return d;
  }

  /** Configures a {@link GeminiEmulator}; every setting is optional. */
  public static final class Builder {
    /** Default time from create to a terminal state. */
    public static final Duration DEFAULT_JOB_LATENCY = Duration.ofSeconds(2);

    /** Default job expiry: the service's 48 hours. */
    public static final Duration DEFAULT_JOB_EXPIRY = Duration.ofHours(48);

    private String host = "127.0.0.1";
    private int port;
    private String apiKey;
    private Path dataDir;
    private Duration jobLatency = DEFAULT_JOB_LATENCY;
    private Duration jobExpiry = DEFAULT_JOB_EXPIRY;
    private long seed;
    private Faults faults = Faults.none();
    private Quota quota = Quota.none();
    private boolean verbose;
    private Deliveries.Settings webhookSettings = Deliveries.Settings.defaults();

    private Builder() {}

    /** Address to listen on; default 127.0.0.1. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** Port; default 0 (a free port, see {@link GeminiEmulator#port()}). */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * The only API key accepted (others get 400 API_KEY_INVALID); by default any non-empty key is
     * accepted. A missing key is always 403 PERMISSION_DENIED.
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey == null || apiKey.isEmpty() ? null : apiKey;
      return this;
    }

    /** Where to store files; default a temporary directory deleted at {@link #close()}. */
    public Builder dataDir(Path dataDir) {
      this.dataDir = dataDir;
      return this;
    }

    /** Time from create to a terminal state; default {@link #DEFAULT_JOB_LATENCY}. */
    public Builder jobLatency(Duration latency) {
      this.jobLatency = checkLatency(latency);
      return this;
    }

    /** Time after which an unfinished job turns EXPIRED; default 48 hours. */
    public Builder jobExpiry(Duration expiry) {
      this.jobExpiry = checkExpiry(expiry);
      return this;
    }

    /** Seed of the fault streams; default 0. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Faults to inject from the start; default {@link Faults#none()}. */
    public Builder faults(Faults faults) {
      this.faults = Objects.requireNonNull(faults, "faults");
      return this;
    }

    /** The quota from the start; default {@link Quota#none()}. */
    public Builder quota(Quota quota) {
      this.quota = Objects.requireNonNull(quota, "quota");
      return this;
    }

    /** Log method, path and status of each call to stderr (never the key or the query). */
    public Builder verbose(boolean verbose) {
      this.verbose = verbose;
      return this;
    }

    /**
     * Delays between the attempts of a webhook delivery that fails (non-2xx or no answer in time);
     * default {@link Deliveries.Settings#DEFAULT_RETRY_SCHEDULE} (5 s, 30 s, 2 min, ... about 24
     * hours). When they are used up the event is given up and a registered webhook turns {@code
     * disabled_due_to_failed_deliveries}.
     */
    public Builder webhookRetrySchedule(Duration... delays) {
      this.webhookSettings = webhookSettings.withRetrySchedule(Arrays.asList(delays));
      return this;
    }

    public Builder webhookRetrySchedule(List<Duration> delays) {
      this.webhookSettings = webhookSettings.withRetrySchedule(delays);
      return this;
    }

    /** How long a webhook receiver has to answer an attempt; default 5 s. */
    public Builder webhookAttemptTimeout(Duration timeout) {
      this.webhookSettings = webhookSettings.withAttemptTimeout(checkLatency(timeout));
      return this;
    }

    /** How long {@link Faults#webhookDelayRate()} delays a delivery; default 5 s. */
    public Builder webhookFaultDelay(Duration delay) {
      this.webhookSettings = webhookSettings.withFaultDelay(checkLatency(delay));
      return this;
    }

    /**
     * The {@code whsec_} secret that signs deliveries to a batch's {@code webhookConfig.uris};
     * default a random one (see {@link GeminiEmulator#webhookSigningSecret()}).
     */
    public Builder webhookSigningSecret(String secret) {
      this.webhookSettings = webhookSettings.withDynamicSecret(secret);
      return this;
    }

    public GeminiEmulator start() throws IOException {
      return new GeminiEmulator(this);
    }
  }
}
