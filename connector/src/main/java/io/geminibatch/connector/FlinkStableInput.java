package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Type;
import java.util.Map;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.translation.types.CoderTypeInformation;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.TypeExtractor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the one piece of state Beam's Flink runner keeps for {@code @RequiresStableInput} that has
 * no Beam coder a serializer that is one, so that checkpoints work on Java 17 with no {@code
 * --add-opens} flags.
 *
 * <p>In streaming mode, a DoFn with {@code @RequiresStableInput} buffers its input until the
 * checkpoint holding it completes. Beam 2.70's {@code BufferingDoFnRunner} records the checkpoints
 * not yet acknowledged in an operator list state of {@code CheckpointIdentifier} (an {@code int}
 * and a {@code long}), declared by class; Flink's type extraction sees no POJO and falls back to
 * Kryo, and Flink's Kryo set-up registers a serializer for {@code Arrays.asList} that reflects into
 * {@code java.util}: without {@code --add-opens=java.base/java.util=ALL-UNNAMED} every checkpoint
 * of our stage and submit steps is declined, and the job restarts forever. Registering a
 * TypeInfoFactory for that class (Flink consults registered factories before falling back) makes
 * Flink serialize it with the Beam coder below instead.
 *
 * <p>The nested classes are the only code that names Flink's own classes; they are linked only
 * once Flink is known to be on the class path (Beam's Flink runner is a provided, optional
 * dependency): on other runners they are never loaded.
 */
final class FlinkStableInput {
  static final String CHECKPOINT_IDENTIFIER =
      "org.apache.beam.runners.flink.translation.wrappers.streaming.stableinput.BufferingDoFnRunner$CheckpointIdentifier";
  private static final Logger LOG = LoggerFactory.getLogger(FlinkStableInput.class);
  private static volatile boolean checked;

  private FlinkStableInput() {}

  /**
   * Called as a stable-input DoFn is deserialized on a worker, which is before its operator's
   * state is declared.
   */
  static void registerIfOnFlink() {
    if (checked) {
      return;
    }
    synchronized (FlinkStableInput.class) {
      if (checked) {
        return;
      }
      checked = true;
      ClassLoader loader = FlinkStableInput.class.getClassLoader();
      Class<?> identifier;
      try {
        Class.forName("org.apache.flink.api.java.typeutils.TypeExtractor", false, loader);
        identifier = Class.forName(CHECKPOINT_IDENTIFIER, false, loader);
      } catch (ClassNotFoundException | LinkageError notOnFlink) {
        return;
      }
      Registrar.register(identifier);
    }
  }

  /**
   * Warns, as an unbounded input is expanded, when the pipeline runs on Flink in streaming mode
   * with checkpointing but no bound on restarts: a failing checkpoint (a stable-input step's
   * state that cannot be written, say) then restarts the job without end, at Flink's default of
   * {@code Integer.MAX_VALUE} attempts, and nothing comes out. {@code --numberOfExecutionRetries}
   * (honoured in streaming mode) or a restart strategy in the cluster's configuration bounds it.
   */
  static void warnIfRestartsUnbounded(PipelineOptions options) {
    String runner = options.getRunner() == null ? "" : options.getRunner().getName();
    if (!runner.equals("org.apache.beam.runners.flink.FlinkRunner")
        && !runner.equals("org.apache.beam.runners.flink.TestFlinkRunner")) {
      return;
    }
    Registrar.warnIfRestartsUnbounded(options);
  }

  /** The only code that names Flink's own classes; linked once they are known to be present. */
  private static final class Registrar {
    static void warnIfRestartsUnbounded(PipelineOptions options) {
      FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
      Long interval = flink.getCheckpointingInterval();
      Integer retries = flink.getNumberOfExecutionRetries();
      if (flink.isStreaming() && interval != null && interval > 0 && (retries == null || retries < 0)) {
        LOG.warn(
            "GeminiBatchIO on Flink streaming with checkpointing and no --numberOfExecutionRetries: unless the"
                + " cluster's configuration sets a restart strategy, a failing checkpoint restarts the job"
                + " without end; set --numberOfExecutionRetries=N (and --executionRetryDelay) to fail instead");
      }
    }

    static void register(Class<?> identifier) {
      if (TypeExtractor.getTypeInfoFactory(identifier) == null) {
        TypeExtractor.registerFactory(identifier, IdentifierTypeInfoFactory.class);
      }
    }
  }

  /** Flink's type information for {@code CheckpointIdentifier}: a Beam coder's. */
  public static final class IdentifierTypeInfoFactory extends TypeInfoFactory<Object> {
    @Override
    public TypeInformation<Object> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
      return new CoderTypeInformation<>(IdentifierCoder.INSTANCE, PipelineOptionsFactory.create());
    }
  }

  /** {@code CheckpointIdentifier(int internalId, long checkpointId)}: two var-ints. */
  static final class IdentifierCoder extends AtomicCoder<Object> {
    static final IdentifierCoder INSTANCE = new IdentifierCoder();
    private transient Constructor<?> constructor;
    private transient Field internalId;
    private transient Field checkpointId;

    private void resolve() throws CoderException {
      if (constructor != null) {
        return;
      }
      try {
        Class<?> c = Class.forName(CHECKPOINT_IDENTIFIER, false, IdentifierCoder.class.getClassLoader());
        Constructor<?> ctor = c.getDeclaredConstructor(int.class, long.class);
        ctor.setAccessible(true);
        internalId = c.getDeclaredField("internalId");
        internalId.setAccessible(true);
        checkpointId = c.getDeclaredField("checkpointId");
        checkpointId.setAccessible(true);
        constructor = ctor;
      } catch (ReflectiveOperationException | RuntimeException e) {
        throw new CoderException("Beam's Flink runner changed its CheckpointIdentifier: " + e);
      }
    }

    @Override
    public void encode(Object value, OutputStream out) throws IOException {
      resolve();
      try {
        VarIntCoder.of().encode(internalId.getInt(value), out);
        VarLongCoder.of().encode(checkpointId.getLong(value), out);
      } catch (IllegalAccessException e) {
        throw new CoderException(e);
      }
    }

    @Override
    public Object decode(InputStream in) throws IOException {
      resolve();
      int internal = VarIntCoder.of().decode(in);
      long checkpoint = VarLongCoder.of().decode(in);
      try {
        return constructor.newInstance(internal, checkpoint);
      } catch (ReflectiveOperationException e) {
        throw new CoderException(e);
      }
    }

    @Override
    public void verifyDeterministic() {}
  }
}
