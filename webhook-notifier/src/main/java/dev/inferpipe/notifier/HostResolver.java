package dev.inferpipe.notifier;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/** Name to addresses: the system's DNS in production, a fixed table in tests. */
@FunctionalInterface
public interface HostResolver {
  List<InetAddress> resolve(String host) throws UnknownHostException;

  static HostResolver system() {
    return host -> List.of(InetAddress.getAllByName(host));
  }
}
