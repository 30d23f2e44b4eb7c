package io.geminibatch.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The one HTTP handler in front of every API the emulator serves on its port.
 *
 * <p>Each emulated API (the Gemini API's batches and files, its webhooks, Cloud Storage, Vertex AI
 * batch prediction) lives in its own package with its own handler, and claims the paths it serves
 * here by a predicate on the request path. Routes are tried in the order they were added; a path
 * no route claims goes to the fallback, the Gemini API handler, which also serves the emulator's
 * own {@code /_emulator/} endpoints and answers unknown paths with Google's 404 body.
 */
public final class EmulatorRouter implements HttpHandler {

  private record Route(String name, Predicate<String> paths, HttpHandler handler) {}

  private final List<Route> routes = new CopyOnWriteArrayList<>();
  private final HttpHandler fallback;

  EmulatorRouter(HttpHandler fallback) {
    this.fallback = fallback;
  }

  /**
   * Sends every request whose path {@code paths} accepts to {@code handler}, before the routes
   * added later and before the fallback.
   */
  public EmulatorRouter route(String name, Predicate<String> paths, HttpHandler handler) {
    routes.add(new Route(name, paths, handler));
    return this;
  }

  /** The names of the routes, in the order they are tried (for the emulator's start-up line). */
  public List<String> names() {
    return routes.stream().map(Route::name).toList();
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    for (Route r : routes) {
      if (r.paths().test(path)) {
        r.handler().handle(ex);
        return;
      }
    }
    fallback.handle(ex);
  }
}
