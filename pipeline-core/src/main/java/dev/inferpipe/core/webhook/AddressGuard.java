package dev.inferpipe.core.webhook;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * Which IP addresses a webhook may reach: public unicast only. Refused: private (10/8,
 * 172.16/12, 192.168/16), link-local (169.254/16, where cloud metadata lives), loopback (unless
 * the local stack allows it), shared (100.64/10), "this network" (0/8), multicast, broadcast,
 * reserved, documentation and benchmark ranges; for IPv6 anything outside global unicast
 * (2000::/3: so unique-local fc00::/7, link-local fe80::/10, site-local) and the global ranges
 * that are not one host: Teredo (2001::/32), documentation (2001:db8::/32), the local-use NAT64
 * prefix (64:ff9b:1::/48). IPv6 forms that carry an IPv4 address (mapped, compatible,
 * translated, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address. Checked on
 * the addresses a name resolves to, right before connecting to them.
 */
public final class AddressGuard {
  private AddressGuard() {}

  /** Why {@code address} may not be called; empty when it may. */
  public static Optional<String> refusal(InetAddress address, boolean allowLoopback) {
    if (address.isLoopbackAddress()) {
      return allowLoopback ? Optional.empty() : Optional.of("loopback address " + text(address));
    }
    if (address instanceof Inet6Address) {
      return refusalV6(address, allowLoopback);
    }
    byte[] b = address.getAddress();
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    int third = b[2] & 0xff;
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
    if (first == 0 || first >= 240 // "this network", reserved and broadcast
        || (first == 100 && second >= 64 && second < 128) // carrier-grade NAT
        || (first == 192 && second == 0 && (third == 0 || third == 2)) // IETF, TEST-NET-1
        || (first == 198 && (second == 18 || second == 19)) // benchmarking
        || (first == 198 && second == 51 && third == 100) // TEST-NET-2
        || (first == 203 && second == 0 && third == 113)) { // TEST-NET-3
      return Optional.of("reserved address " + text(address));
    }
    return Optional.empty();
  }

  private static Optional<String> refusalV6(InetAddress address, boolean allowLoopback) {
    byte[] b = address.getAddress();
    Optional<byte[]> embedded = embeddedV4(b);
    if (embedded.isPresent()) {
      try {
        return refusal(InetAddress.getByAddress(embedded.get()), allowLoopback)
            .map(why -> why + " (inside IPv6 " + text(address) + ")");
      } catch (UnknownHostException e) {
        return Optional.of("unreadable address " + text(address));
      }
    }
    if (isZero(b, 0, 15) && b[15] == 0) {
      return Optional.of("unspecified address " + text(address));
    }
    if ((b[0] & 0xe0) != 0x20) {
      String kind = (b[0] & 0xfe) == 0xfc ? "private (unique local)"
          : (b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80 ? "link-local"
          : (b[0] & 0xff) == 0xff ? "multicast" : "non-global";
      return Optional.of(kind + " address " + text(address));
    }
    int word0 = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
    int word1 = ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    if (word0 == 0x2001 && (word1 == 0 || word1 == 0x0db8)) {
      return Optional.of((word1 == 0 ? "Teredo" : "documentation") + " address " + text(address));
    }
    return Optional.empty();
  }

  /** The IPv4 address an IPv6 form carries (mapped, compatible, translated, NAT64, 6to4). */
  private static Optional<byte[]> embeddedV4(byte[] b) {
    boolean mapped = isZero(b, 0, 9) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
    boolean compatible = isZero(b, 0, 11) && !(isZero(b, 12, 14) && (b[15] & 0xff) <= 1);
    boolean translated = isZero(b, 0, 7) && (b[8] & 0xff) == 0xff && (b[9] & 0xff) == 0xff
        && b[10] == 0 && b[11] == 0;
    boolean nat64 = (b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff
        && (b[3] & 0xff) == 0x9b;
    if (nat64 && isZero(b, 4, 11)) {
      return Optional.of(new byte[] {b[12], b[13], b[14], b[15]});
    }
    if (nat64) {
      return Optional.of(new byte[] {0, 0, 0, 0}); // 64:ff9b:1::/48 and the like: local use
    }
    if (mapped || compatible || translated) {
      return Optional.of(new byte[] {b[12], b[13], b[14], b[15]});
    }
    if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) { // 6to4: 2002:AABB:CCDD::/48
      return Optional.of(new byte[] {b[2], b[3], b[4], b[5]});
    }
    return Optional.empty();
  }

  private static boolean isZero(byte[] b, int from, int to) {
    for (int i = from; i <= to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static String text(InetAddress address) {
    return address.getHostAddress();
  }
}
