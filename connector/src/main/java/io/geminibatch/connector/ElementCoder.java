package io.geminibatch.connector;

import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;

/** Base of the connector's hand-written element coders: no arguments, deterministic. */
abstract class ElementCoder<T> extends CustomCoder<T> {
  @Override
  public final List<? extends Coder<?>> getCoderArguments() {
    return List.of();
  }

  @Override
  public final void verifyDeterministic() {}

  @Override
  public boolean equals(Object other) {
    return other != null && other.getClass() == getClass();
  }

  @Override
  public int hashCode() {
    return getClass().hashCode();
  }
}
