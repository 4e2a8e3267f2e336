package dev.inferpipe.core.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AddressGuardTest {
  @ParameterizedTest
  @ValueSource(strings = {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.1",
      "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3",
      "224.0.0.1", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.0.8", "127.0.0.1",
      "::1", "::", "fe80::1", "fd12:3456::1", "fc00::1", "ff02::1", "::ffff:10.0.0.1",
      "::ffff:169.254.169.254", "::ffff:127.0.0.1", "fec0::1", "64:ff9b::a00:5",
      "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808", "2002:a00:1::1", "2002:a9fe:a9fe::1",
      "::ffff:0:a00:1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "100::1",
      "192.0.2.1", "198.51.100.7", "203.0.113.9"})
  void refusesAddressesThatAreNotPublic(String address) throws Exception {
    assertThat(AddressGuard.refusal(InetAddress.getByName(address), false)).isPresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
      "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1", "64:ff9b::808:808", "2002:808:808::1"})
  void allowsPublicAddresses(String address) throws Exception {
    assertThat(AddressGuard.refusal(InetAddress.getByName(address), false)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "127.1.2.3", "::1"})
  void loopbackOnlyWhenTheLocalStackAllowsIt(String address) throws Exception {
    assertThat(AddressGuard.refusal(InetAddress.getByName(address), true)).isEmpty();
    assertThat(AddressGuard.refusal(InetAddress.getByName(address), false))
        .hasValueSatisfying(r -> assertThat(r).contains("loopback"));
  }
}
