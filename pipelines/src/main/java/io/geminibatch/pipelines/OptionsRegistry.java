package io.geminibatch.pipelines;

import java.beans.Introspector;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.PipelineOptionsRegistrar;
import org.apache.beam.sdk.util.common.ReflectHelpers;

/**
 * Beam's registry of options interfaces, filled with what the command line names.
 *
 * <p>When {@link PipelineOptionsFactory} is first used, Beam registers every options interface a
 * {@link PipelineOptionsRegistrar} on the class path names (16 in this jar: Flink's, the Direct
 * runner's, GCP's, ...), checking each against all those before it: a proxy class over all of
 * them, and all their methods sorted by their generic signatures, once per interface. That took
 * 1.7 CPU-seconds of the main thread, half of its start-up, and 2.5 with the Dataflow runner and
 * Beam's GCP IO on the class path (22 interfaces). Every options object then knows every
 * registered interface, and the Flink runner turns the options into JSON for each step it
 * translates, reflecting over all of their methods each time.
 *
 * <p>{@link #startEmpty} (only the process's entry calls it: {@link Main#main}) lets Beam start
 * with none; {@link #registerFor} then registers the interfaces that declare an option the command
 * line gives, so every option of Beam and of the runners on the class path is still accepted, and
 * an interface the run uses is checked when it is first used ({@code options.as}), as Beam does
 * for any interface it was not told of. An option that no interface declares registers them all
 * before Beam parses, so its error names the nearest options as it did. Where the registry is
 * already full (the tests, an application using this package), registering is a no-op.
 */
final class OptionsRegistry {
  private static final String REGISTRARS = "META-INF/services/" + PipelineOptionsRegistrar.class.getName();

  private OptionsRegistry() {}

  /**
   * Starts Beam's options registry empty: Beam reads its registrars through the thread's context
   * class loader, which here hides their list while the registry is made.
   */
  static void startEmpty() {
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(new WithoutRegistrars(previous != null ? previous : OptionsRegistry.class.getClassLoader()));
    try {
      PipelineOptionsFactory.resetCache();
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  /**
   * Registers the interfaces that declare an option {@code args} give and neither {@code own} nor
   * a registered interface declares; all of them when one is declared by none.
   */
  static void registerFor(String[] args, Class<? extends PipelineOptions> own) {
    Set<String> wanted = new LinkedHashSet<>(optionNames(args));
    wanted.removeAll(properties(own));
    if (wanted.isEmpty()) {
      return;
    }
    for (Class<? extends PipelineOptions> registered : PipelineOptionsFactory.getRegisteredOptions()) {
      wanted.removeAll(properties(registered));
    }
    List<Class<? extends PipelineOptions>> declaring = new ArrayList<>();
    for (Class<? extends PipelineOptions> candidate : registrarInterfaces()) {
      Set<String> properties = properties(candidate);
      if (properties.stream().anyMatch(wanted::contains)) {
        declaring.add(candidate);
      }
    }
    Set<String> declared = new HashSet<>();
    declaring.forEach(c -> declared.addAll(properties(c)));
    if (!declared.containsAll(wanted)) {
      registerAll();
      return;
    }
    declaring.forEach(PipelineOptionsFactory::register);
  }

  /** Registers every interface of every registrar, as Beam does by default. */
  static void registerAll() {
    registrarInterfaces().forEach(PipelineOptionsFactory::register);
  }

  /** The interfaces the registrars on the class path name, in Beam's order. */
  static List<Class<? extends PipelineOptions>> registrarInterfaces() {
    List<Class<? extends PipelineOptions>> all = new ArrayList<>();
    for (PipelineOptionsRegistrar r : ReflectHelpers.loadServicesOrdered(PipelineOptionsRegistrar.class, ReflectHelpers.findClassLoader())) {
      r.getPipelineOptions().forEach(all::add);
    }
    return all;
  }

  /** The option names {@code args} give ({@code --name=value} or {@code --name}). */
  static List<String> optionNames(String[] args) {
    List<String> names = new ArrayList<>();
    for (String a : args) {
      if (a != null && a.startsWith("--") && a.length() > 2) {
        int eq = a.indexOf('=');
        names.add(eq < 0 ? a.substring(2) : a.substring(2, eq));
      }
    }
    return names;
  }

  /** The bean properties of an interface's getters, its super-interfaces' included. */
  static Set<String> properties(Class<?> iface) {
    Set<String> names = new HashSet<>();
    for (Method m : iface.getMethods()) {
      String n = m.getName();
      if (m.getParameterCount() != 0) {
        continue;
      }
      if (n.startsWith("get") && n.length() > 3) {
        names.add(Introspector.decapitalize(n.substring(3)));
      } else if (n.startsWith("is") && n.length() > 2 && m.getReturnType() == boolean.class) {
        names.add(Introspector.decapitalize(n.substring(2)));
      }
    }
    return names;
  }

  /** Its parent's class loader, without the list of Beam's options registrars. */
  private static final class WithoutRegistrars extends ClassLoader {
    WithoutRegistrars(ClassLoader parent) {
      super(parent);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
      return REGISTRARS.equals(name) ? Collections.emptyEnumeration() : super.getResources(name);
    }
  }
}
