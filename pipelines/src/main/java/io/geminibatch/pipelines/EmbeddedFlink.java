package io.geminibatch.pipelines;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.flink.api.java.ExecutionEnvironment;
import org.apache.flink.client.deployment.executors.LocalExecutor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.PipelineExecutorFactory;
import org.apache.flink.core.execution.PipelineExecutorServiceLoader;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.minicluster.RpcServiceSharing;

/**
 * The embedded Flink cluster of a run that chose Flink by default, started on a thread of its own
 * as soon as the command knows it will run on it, so that the cluster's start overlaps the
 * command's own (its checks of the staging location, the pipeline's construction and Beam's
 * translation) instead of following it. On 2 cores the cluster's start loads about 3,000 classes
 * and took 1.6 s after the translation (README "Performance").
 *
 * <p>The job reaches the cluster the way {@code --flinkMaster=[local]} would: the same
 * configuration ({@code config.yaml} of {@code --flinkConfDir}, leaked-class-loader check off as
 * Beam sets it) and Flink's own local executor, which here asks for its cluster and gets this one.
 * Beam finds the executor through Flink's context environment ({@code --flinkMaster=[auto]}),
 * which is set for this thread's run and reset by {@link #close}. A job that needs more slots than
 * the cluster was started with (a pipeline wider than {@code --parallelism}) gets a cluster of its
 * own as before, and this one is shut down.
 */
final class EmbeddedFlink implements AutoCloseable {
  private final Early cluster;
  /** The cluster the job got, once it asked. */
  private volatile MiniCluster used;

  private EmbeddedFlink(Early cluster) {
    this.cluster = cluster;
  }

  MiniCluster cluster() {
    return cluster;
  }

  MiniCluster usedBy() {
    return used;
  }

  /**
   * Starts the cluster for {@code options} (parallelism set, {@code [local]} master) and points
   * the run at it ({@code [auto]}).
   */
  static EmbeddedFlink start(FlinkPipelineOptions options) {
    Configuration conf =
        options.getFlinkConfDir() == null || options.getFlinkConfDir().isEmpty()
            ? GlobalConfiguration.loadConfiguration()
            : GlobalConfiguration.loadConfiguration(options.getFlinkConfDir());
    if (!conf.containsKey(TaskManagerOptions.MANAGED_MEMORY_SIZE.key())) {
      // As Beam sets it for [local]: a share of the free heap.
      long free = EnvironmentInformation.getSizeOfFreeHeapMemoryWithDefrag();
      conf.setString(
          TaskManagerOptions.MANAGED_MEMORY_SIZE.key(),
          String.valueOf((long) (free * conf.get(TaskManagerOptions.MANAGED_MEMORY_FRACTION))));
    }
    if (!conf.containsKey("classloader.check-leaked-classloader")) {
      conf.setBoolean("classloader.check-leaked-classloader", false);
    }
    // As ExecutionEnvironment.createLocalEnvironment sets them.
    conf.set(DeploymentOptions.TARGET, LocalExecutor.NAME);
    conf.set(DeploymentOptions.ATTACHED, true);
    Early cluster = new Early(clusterConfiguration(conf, options.getParallelism()));
    Thread starter = new Thread(cluster::startNow, "gemini-batch-flink-start");
    starter.setDaemon(true);
    starter.start();
    EmbeddedFlink flink = new EmbeddedFlink(cluster);
    Context.install(conf, flink);
    options.setFlinkMaster("[auto]");
    return flink;
  }

  /** What Flink's per-job cluster factory would build for a job of {@code slots} parallelism. */
  static MiniClusterConfiguration clusterConfiguration(Configuration conf, int slots) {
    Configuration c = new Configuration(conf);
    if (!c.contains(RestOptions.BIND_PORT)) {
      c.set(RestOptions.BIND_PORT, "0");
    }
    int taskManagers = c.get(TaskManagerOptions.MINI_CLUSTER_NUM_TASK_MANAGERS);
    int perTaskManager =
        c.getOptional(TaskManagerOptions.NUM_TASK_SLOTS).orElse((slots + taskManagers - 1) / taskManagers);
    return new MiniClusterConfiguration.Builder()
        .setConfiguration(c)
        .setNumTaskManagers(taskManagers)
        .setRpcServiceSharing(RpcServiceSharing.SHARED)
        .setNumSlotsPerTaskManager(perTaskManager)
        .build();
  }

  /** The cluster for a job that asks for {@code wanted}: this one when it is wide enough. */
  MiniCluster clusterFor(MiniClusterConfiguration wanted) {
    MiniClusterConfiguration have = cluster.configuration;
    if (cluster.claim()) {
      if (wanted.getNumTaskManagers() == have.getNumTaskManagers()
          && slotsOf(wanted) <= slotsOf(have)) {
        used = cluster;
        return cluster;
      }
      cluster.closeAsync();
    }
    used = new MiniCluster(wanted);
    return used;
  }

  private static int slotsOf(MiniClusterConfiguration c) {
    return c.getConfiguration().get(TaskManagerOptions.NUM_TASK_SLOTS);
  }

  /** Resets Flink's context environment and shuts the cluster down unless a job has it. */
  @Override
  public void close() {
    Context.reset();
    if (!cluster.claim()) {
      return; // the job's client shuts it down when the job ends
    }
    cluster.closeAsync();
  }

  /** A cluster whose {@link #start} waits for the start begun on another thread. */
  static final class Early extends MiniCluster {
    final MiniClusterConfiguration configuration;
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private boolean claimed;

    Early(MiniClusterConfiguration configuration) {
      super(configuration);
      this.configuration = configuration;
    }

    void startNow() {
      try {
        super.start();
        started.complete(null);
      } catch (Throwable e) {
        started.completeExceptionally(e);
      }
    }

    /** True once, for the one job (or close) that takes the cluster. */
    synchronized boolean claim() {
      if (claimed) {
        return false;
      }
      claimed = true;
      return true;
    }

    @Override
    public void start() throws Exception {
      try {
        started.get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        throw cause instanceof Exception ? (Exception) cause : new RuntimeException(cause);
      }
    }
  }

  /** Installs (and resets) Flink's context environment; the protected setters need a subclass. */
  private static final class Context extends ExecutionEnvironment {
    static void install(Configuration conf, EmbeddedFlink flink) {
      PipelineExecutorFactory factory =
          new PipelineExecutorFactory() {
            @Override
            public String getName() {
              return LocalExecutor.NAME;
            }

            @Override
            public boolean isCompatibleWith(Configuration configuration) {
              return LocalExecutor.NAME.equalsIgnoreCase(configuration.get(DeploymentOptions.TARGET));
            }

            @Override
            public org.apache.flink.core.execution.PipelineExecutor getExecutor(Configuration configuration) {
              return LocalExecutor.createWithFactory(configuration, flink::clusterFor);
            }
          };
      PipelineExecutorServiceLoader loader =
          new PipelineExecutorServiceLoader() {
            @Override
            public PipelineExecutorFactory getExecutorFactory(Configuration configuration) {
              return factory;
            }

            @Override
            public Stream<String> getExecutorNames() {
              return Stream.of(LocalExecutor.NAME);
            }
          };
      initializeContextEnvironment(() -> new ExecutionEnvironment(loader, new Configuration(conf), null));
    }

    static void reset() {
      resetContextEnvironment();
    }
  }
}
