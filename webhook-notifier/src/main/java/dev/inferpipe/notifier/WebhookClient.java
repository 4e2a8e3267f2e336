package dev.inferpipe.notifier;

import dev.inferpipe.core.webhook.AddressGuard;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;

/**
 * POSTs one notification. Jetty's HTTP client, because its {@link SocketAddressResolver} is the
 * hook where the {@link AddressGuard} sees the very addresses the connection is made to: a name
 * that resolves to a private or link-local address is refused there, and a rebinding DNS cannot
 * swap the address between the check and the connect. Redirects are not followed (the protocol
 * handlers are removed, so a 3xx is just an answer); connecting and the whole exchange are time
 * bounded, and at most {@link NotifierSettings#MAX_RESPONSE_BYTES} of the answer is read.
 */
final class WebhookClient implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WebhookClient.class);
  static final String USER_AGENT = "inferpipe-webhook/1";

  private final HttpClient http;
  private final Duration attemptTimeout;
  /** Name lookups, each bounded by the connect timeout (the JDK's own have no bound). */
  private final java.util.concurrent.ExecutorService dns =
      java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "webhook-dns");
        t.setDaemon(true);
        return t;
      });

  /** Why an address was refused; travels through Jetty as the request's failure. */
  static final class RefusedAddress extends UnknownHostException {
    RefusedAddress(String message) {
      super(message);
    }
  }

  WebhookClient(HostResolver resolver, boolean allowLoopback, Duration connectTimeout,
      Duration attemptTimeout) {
    this.attemptTimeout = attemptTimeout;
    this.http = new HttpClient();
    http.setFollowRedirects(false);
    http.setConnectTimeout(connectTimeout.toMillis());
    http.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, USER_AGENT));
    // Receivers of different tenants may share a host: no cookie of one goes to another.
    http.setHttpCookieStore(new HttpCookieStore.Empty());
    http.setSocketAddressResolver(new GuardedResolver(resolver, allowLoopback, connectTimeout,
        dns));
    try {
      http.start();
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the webhook HTTP client", e);
    }
    // Start adds the redirect, authentication and 100-continue handlers: none is wanted.
    http.getProtocolHandlers().clear();
  }

  Attempt post(URI url, byte[] body, Map<String, String> headers) throws InterruptedException {
    Request request = http.newRequest(url).method(HttpMethod.POST)
        .timeout(attemptTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .body(new BytesRequestContent("application/json", body));
    headers.forEach((name, value) -> request.headers(h -> h.put(name, value)));
    InputStreamResponseListener listener = new InputStreamResponseListener();
    request.send(listener);
    try {
      Response response = listener.get(attemptTimeout.toMillis(), TimeUnit.MILLISECONDS);
      try (InputStream in = listener.getInputStream()) {
        in.readNBytes(NotifierSettings.MAX_RESPONSE_BYTES); // the rest is left unread
      } catch (java.io.IOException e) {
        // The status is what counts; an unreadable body does not undo the answer.
      }
      return new Attempt.Answered(response.getStatus());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      for (Throwable t = cause; t != null; t = t.getCause()) {
        if (t instanceof RefusedAddress refused) {
          return new Attempt.Refused(refused.getMessage());
        }
      }
      return new Attempt.Failed(describe(cause));
    } catch (TimeoutException e) {
      request.abort(e);
      return new Attempt.Failed("no answer within " + attemptTimeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      request.abort(e);
      throw e;
    }
  }

  private static String describe(Throwable failure) {
    if (failure instanceof TimeoutException) {
      return "no answer in time: " + failure.getMessage();
    }
    String message = failure.getMessage();
    return failure.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public void close() {
    dns.shutdownNow();
    try {
      http.stop();
    } catch (Exception e) {
      // closing anyway
    }
  }

  /**
   * Resolves (bounded by the connect timeout), then refuses the connection unless every address
   * is allowed. The reason given names the kind of address, not the address: it is shown to
   * whoever submitted the job, and must not map the cluster's DNS for them.
   */
  private record GuardedResolver(HostResolver resolver, boolean allowLoopback, Duration timeout,
      java.util.concurrent.ExecutorService dns) implements SocketAddressResolver {
    @Override
    public void resolve(String host, int port, Map<String, Object> context,
        Promise<List<InetSocketAddress>> promise) {
      List<InetAddress> addresses;
      try {
        addresses = dns.submit(() -> resolver.resolve(host))
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        promise.failed(e.getCause() instanceof UnknownHostException u ? u
            : new UnknownHostException(host + ": " + e.getCause()));
        return;
      } catch (TimeoutException e) {
        promise.failed(new UnknownHostException(host + " not resolved within "
            + timeout.toMillis() + " ms"));
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        promise.failed(e);
        return;
      } catch (RuntimeException e) {
        promise.failed(e);
        return;
      }
      if (addresses.isEmpty()) {
        promise.failed(new UnknownHostException(host + " has no address"));
        return;
      }
      List<InetSocketAddress> result = new ArrayList<>();
      for (InetAddress address : addresses) {
        Optional<String> refusal = AddressGuard.refusal(address, allowLoopback);
        if (refusal.isPresent()) {
          LOG.atWarn().addKeyValue("event", "webhook.address_refused").addKeyValue("host", host)
              .log("{} resolves to a {}", host, refusal.get());
          promise.failed(new RefusedAddress(host + " resolves to an address webhooks may not"
              + " reach (" + kind(refusal.get()) + ")"));
          return;
        }
        result.add(new InetSocketAddress(address, port));
      }
      promise.succeeded(result);
    }

    /** "private address 10.0.0.1 (inside ...)" -> "private address". */
    private static String kind(String refusal) {
      int at = refusal.indexOf(" address");
      return at < 0 ? "not public" : refusal.substring(0, at + " address".length());
    }
  }
}
