package dev.inferpipe.core.webhook;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A webhook URL checked against the rules that do not need DNS: an absolute {@code https} URL
 * with a host and no user info or fragment ({@code http} only to a loopback host, when the local
 * stack allows loopback), a host on the allow-list, and no literal IP the {@link AddressGuard}
 * refuses. The API checks this at submission (a 400 naming {@code webhook_url}); the notifier
 * checks it again, then the resolved addresses, before each attempt.
 */
public final class WebhookTarget {
  public static final int MAX_URL_CHARS = 2048;

  private WebhookTarget() {}

  /**
   * Why {@code url} may not be a webhook target; empty when it may.
   *
   * @param allowedHosts host names ({@code hooks.example.com}) or suffix patterns
   *     ({@code *.example.com}, subdomains only); empty allows any host
   */
  public static Optional<String> refusal(String url, List<String> allowedHosts,
      boolean allowLoopback) {
    if (url == null || url.isEmpty() || url.length() > MAX_URL_CHARS) {
      return Optional.of("must be a URL of at most " + MAX_URL_CHARS + " characters");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      return Optional.of("is not a valid URL: " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost();
    if (!uri.isAbsolute() || host == null || host.isEmpty()) {
      return Optional.of("must be an absolute URL with a host");
    }
    if (uri.getRawUserInfo() != null) {
      return Optional.of("must not carry user info");
    }
    if (uri.getRawFragment() != null) {
      return Optional.of("must not have a fragment");
    }
    String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    boolean loopbackHost = isLoopbackName(bareHost);
    if (!scheme.equals("https") && !(scheme.equals("http") && allowLoopback && loopbackHost)) {
      return Optional.of(allowLoopback ? "must be https (http only to localhost)" : "must be https");
    }
    Optional<InetAddress> literal = literalAddress(bareHost);
    if (literal.isPresent()) {
      Optional<String> refused = AddressGuard.refusal(literal.get(), allowLoopback);
      if (refused.isPresent()) {
        return Optional.of("targets a " + refused.get());
      }
    }
    if (!hostAllowed(bareHost, allowedHosts) && !(allowLoopback && loopbackHost)) {
      return Optional.of("host '" + bareHost + "' is not on the webhook allow-list");
    }
    return Optional.empty();
  }

  static boolean hostAllowed(String host, List<String> allowedHosts) {
    if (allowedHosts.isEmpty()) {
      return true;
    }
    String h = host.toLowerCase(Locale.ROOT);
    for (String pattern : allowedHosts) {
      String p = pattern.toLowerCase(Locale.ROOT).trim();
      if (p.startsWith("*.") ? h.endsWith(p.substring(1)) && h.length() > p.length() - 1
          : h.equals(p)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isLoopbackName(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    return literalAddress(host).map(InetAddress::isLoopbackAddress).orElse(false);
  }

  /** The address a host written as an IP literal names; empty for a name (no DNS lookup). */
  static Optional<InetAddress> literalAddress(String host) {
    boolean v4 = host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    boolean v6 = host.contains(":") && host.matches("[0-9A-Fa-f:.]+");
    if (!v4 && !v6) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(host)); // a literal: parsed, not resolved
    } catch (java.net.UnknownHostException e) {
      return Optional.empty();
    }
  }
}
