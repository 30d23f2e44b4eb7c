package io.geminibatch.testing.webhooks;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends webhook events: an HTTP POST of the JSON event with the Standard Webhooks headers ({@code
 * webhook-id}, {@code webhook-timestamp} in unix seconds, {@code webhook-signature}), signed again
 * at every attempt with every secret valid at that moment.
 *
 * <p>An attempt answered with a non-2xx status, or not answered within the attempt timeout, is
 * retried under the same {@code webhook-id} after each delay of the retry schedule in turn (the
 * first within 10 s by default); when the schedule is used up the event is given up, and a
 * registered webhook that was its target turns {@code disabled_due_to_failed_deliveries}.
 *
 * <p>Deliveries to the URIs of a batch's own {@code webhookConfig} are signed the same way with
 * the emulator's dynamic signing secret (the live service signs them with an RS256 JWT instead).
 *
 * <p>Counters: {@code deliveries} (events to send, one per target), {@code attempts}, {@code
 * delivered} (2xx), {@code failedAttempts}, {@code retries}, {@code givenUp}, {@code
 * disabledWebhooks}. Faults: {@code webhookDuplicate} (a delivered event is sent once more under
 * the same id), {@code webhookDelay} (the first attempt waits the configured delay).
 */
public final class Deliveries implements AutoCloseable {

  /** Counts what deliveries do (the emulator's stats). */
  public interface Counters {
    void count(String counter);

    void fault(String kind);
  }

  /** Decides the delivery faults, one roll per event and target. */
  public interface Dice {
    boolean duplicate();

    boolean delay();
  }

  /** How deliveries are made. */
  public record Settings(
      List<Duration> retrySchedule,
      Duration attemptTimeout,
      Duration faultDelay,
      Duration revocationPeriod,
      String dynamicSecret) {

    /** First retry after 5 s, then backoff to hourly, about 24 hours in all. */
    public static final List<Duration> DEFAULT_RETRY_SCHEDULE =
        List.of(
            Duration.ofSeconds(5),
            Duration.ofSeconds(30),
            Duration.ofMinutes(2),
            Duration.ofMinutes(10),
            Duration.ofMinutes(30),
            Duration.ofHours(1),
            Duration.ofHours(2),
            Duration.ofHours(4),
            Duration.ofHours(8),
            Duration.ofHours(8));

    public Settings {
      retrySchedule = List.copyOf(retrySchedule);
      for (Duration d : retrySchedule) {
        if (d.isNegative()) {
          throw new IllegalArgumentException("a webhook retry delay must not be negative, got " + d);
        }
      }
      Objects.requireNonNull(attemptTimeout, "attemptTimeout");
      Objects.requireNonNull(faultDelay, "faultDelay");
      Objects.requireNonNull(revocationPeriod, "revocationPeriod");
      Signing.key(dynamicSecret); // validates it
    }

    public static Settings defaults() {
      return new Settings(
          DEFAULT_RETRY_SCHEDULE,
          Duration.ofSeconds(5),
          Duration.ofSeconds(5),
          Duration.ofHours(24),
          Signing.newSecret());
    }

    public Settings withRetrySchedule(List<Duration> schedule) {
      return new Settings(schedule, attemptTimeout, faultDelay, revocationPeriod, dynamicSecret);
    }

    public Settings withAttemptTimeout(Duration d) {
      return new Settings(retrySchedule, d, faultDelay, revocationPeriod, dynamicSecret);
    }

    public Settings withFaultDelay(Duration d) {
      return new Settings(retrySchedule, attemptTimeout, d, revocationPeriod, dynamicSecret);
    }

    public Settings withDynamicSecret(String secret) {
      return new Settings(retrySchedule, attemptTimeout, faultDelay, revocationPeriod, secret);
    }
  }

  private final Settings settings;
  private final Counters counters;
  private final Dice dice;
  private final ScheduledThreadPoolExecutor scheduler;
  private final ExecutorService threads;
  private final HttpClient http;

  public Deliveries(Settings settings, Counters counters, Dice dice) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.counters = Objects.requireNonNull(counters, "counters");
    this.dice = Objects.requireNonNull(dice, "dice");
    this.scheduler = new ScheduledThreadPoolExecutor(1, daemon("gemini-emulator-webhooks"));
    scheduler.setRemoveOnCancelPolicy(true);
    this.threads = Executors.newCachedThreadPool(daemon("gemini-emulator-webhook-http"));
    this.http =
        HttpClient.newBuilder()
            .executor(threads)
            .connectTimeout(settings.attemptTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  public Settings settings() {
    return settings;
  }

  /** The secret that signs deliveries to a batch's {@code webhookConfig.uris}. */
  public String dynamicSecret() {
    return settings.dynamicSecret();
  }

  /**
   * Sends one event to one target. {@code hook} is the registered webhook (its secrets sign it),
   * or null for a URI of a batch's {@code webhookConfig}.
   */
  void send(WebhookService.Hook hook, String uri, byte[] body, boolean disableOnFailure) {
    Delivery d =
        new Delivery("msg_" + Signing.randomId(27), hook, URI.create(uri), body, disableOnFailure);
    counters.count("deliveries");
    boolean duplicate = dice.duplicate();
    boolean delay = dice.delay();
    if (duplicate) {
      counters.fault("webhookDuplicate");
      d.duplicate = true;
    }
    if (delay) {
      counters.fault("webhookDelay");
      schedule(d, settings.faultDelay());
    } else {
      schedule(d, Duration.ZERO);
    }
  }

  private void schedule(Delivery d, Duration after) {
    try {
      scheduler.schedule(() -> attempt(d), after.toNanos(), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the emulator is closing
    }
  }

  private void attempt(Delivery d) {
    List<String> secrets =
        d.hook == null
            ? List.of(settings.dynamicSecret())
            : d.hook.validSecrets(Instant.now()).stream().map(WebhookService.Secret::value).toList();
    if (d.hook != null && (secrets.isEmpty() || d.hook.deletedOrGone())) {
      return; // deleted meanwhile: nothing to sign with, no one to tell
    }
    long timestamp = Instant.now().getEpochSecond();
    HttpRequest request =
        HttpRequest.newBuilder(d.uri)
            .timeout(settings.attemptTimeout())
            .header("Content-Type", "application/json")
            .header("User-Agent", "Gemini-Batch-Emulator-Webhooks/1")
            .header("webhook-id", d.id)
            .header("webhook-timestamp", Long.toString(timestamp))
            .header("webhook-signature", Signing.header(secrets, d.id, timestamp, d.body))
            .POST(HttpRequest.BodyPublishers.ofByteArray(d.body))
            .build();
    counters.count("attempts");
    http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .whenComplete(
            (response, error) -> {
              boolean ok = error == null && response.statusCode() / 100 == 2;
              if (ok) {
                counters.count("delivered");
                if (d.duplicate) {
                  d.duplicate = false;
                  schedule(d, Duration.ZERO);
                }
                return;
              }
              counters.count("failedAttempts");
              if (d.retries < settings.retrySchedule().size()) {
                Duration wait = settings.retrySchedule().get(d.retries++);
                counters.count("retries");
                schedule(d, wait);
                return;
              }
              counters.count("givenUp");
              if (d.disableOnFailure && d.hook != null && d.hook.disableForFailures()) {
                counters.count("disabledWebhooks");
              }
            });
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    threads.shutdownNow();
  }

  /** One event on its way to one target; retries keep its id. */
  private static final class Delivery {
    final String id;
    final WebhookService.Hook hook;
    final URI uri;
    final byte[] body;
    final boolean disableOnFailure;
    volatile int retries;
    volatile boolean duplicate;

    Delivery(String id, WebhookService.Hook hook, URI uri, byte[] body, boolean disableOnFailure) {
      this.id = id;
      this.hook = hook;
      this.uri = uri;
      this.body = body;
      this.disableOnFailure = disableOnFailure;
    }
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
