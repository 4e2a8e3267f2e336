package dev.inferpipe.core.webhook;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Which IP addresses a webhook may reach: public unicast only. Refused: private (10/8,
 * 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, where cloud metadata lives, and
 * fe80::/10), loopback (unless the local stack allows it), shared (100.64/10), "this network"
 * (0/8), multicast, broadcast, documentation and benchmark ranges, and IPv4 inside IPv6 forms of
 * any of these. Checked on the addresses a name resolves to, right before connecting to them.
 */
public final class AddressGuard {
  private AddressGuard() {}

  /** Why {@code address} may not be called; empty when it may. */
  public static Optional<String> refusal(InetAddress address, boolean allowLoopback) {
    if (address.isLoopbackAddress()) {
      return allowLoopback ? Optional.empty() : Optional.of("loopback address " + text(address));
    }
    if (address instanceof Inet6Address v6) {
      byte[] b = v6.getAddress();
      if (isMappedOrCompatibleV4(b)) {
        try {
          byte[] v4 = {b[12], b[13], b[14], b[15]};
          return refusal(InetAddress.getByAddress(v4), allowLoopback)
              .map(why -> why + " (as IPv6 " + text(address) + ")");
        } catch (java.net.UnknownHostException e) {
          return Optional.of("unreadable address " + text(address));
        }
      }
      if ((b[0] & 0xfe) == 0xfc) {
        return Optional.of("private (unique local) address " + text(address));
      }
    }
    if (address.isAnyLocalAddress()) {
      return Optional.of("unspecified address " + text(address));
    }
    if (address.isLinkLocalAddress()) {
      return Optional.of("link-local address " + text(address));
    }
    if (address.isSiteLocalAddress()) {
      return Optional.of("private address " + text(address));
    }
    if (address.isMulticastAddress()) {
      return Optional.of("multicast address " + text(address));
    }
    if (address instanceof Inet4Address) {
      byte[] b = address.getAddress();
      int first = b[0] & 0xff;
      int second = b[1] & 0xff;
      if (first == 0 || first >= 240 // "this network", reserved and broadcast
          || (first == 100 && second >= 64 && second < 128) // carrier-grade NAT
          || (first == 192 && second == 0 && (b[2] & 0xff) == 0) // IETF protocol assignments
          || (first == 198 && (second == 18 || second == 19))) { // benchmarking
        return Optional.of("reserved address " + text(address));
      }
    } else if ((address.getAddress()[0] & 0xff) == 0xfe && (address.getAddress()[1] & 0xc0) == 0xc0) {
      return Optional.of("site-local address " + text(address));
    }
    return Optional.empty();
  }

  private static boolean isMappedOrCompatibleV4(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    boolean mapped = (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
    boolean compatible = b[10] == 0 && b[11] == 0 && (b[12] != 0 || b[13] != 0);
    return mapped || compatible;
  }

  private static String text(InetAddress address) {
    return address.getHostAddress();
  }
}
