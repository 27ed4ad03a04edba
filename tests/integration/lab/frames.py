"""Raw Ethernet/IPv4/UDP frames for the lab tests, built with struct (no scapy).

Frame() holds every header field with sane defaults for a datagram from the
namespace's client to the server; build() lays it out, filling lengths and
checksums unless a field was set by hand, so a test breaks exactly one thing.
send_raw() puts frames on the wire through an AF_PACKET socket (root, inside
the lab's namespace).
"""
import socket
import struct

ETH_P_IP = 0x0800
IPPROTO_UDP = 17


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return f.read().strip()


def checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Frame:
    """One Ethernet frame carrying IPv4/UDP.  Attributes left None are computed."""

    def __init__(self, src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload):
        self.src_mac, self.dst_mac = src_mac, dst_mac
        self.src_ip, self.dst_ip = src_ip, dst_ip
        self.sport, self.dport = sport, dport
        self.payload = payload
        self.ihl = 5
        self.ttl = 64
        self.ip_total_len = None
        self.ip_checksum = None
        self.udp_len = None
        self.udp_checksum = None
        self.truncate_to = None  # cut the finished frame to this many bytes

    def udp(self):
        ulen = self.udp_len if self.udp_len is not None else 8 + len(self.payload)
        hdr = struct.pack("!HHHH", self.sport, self.dport, ulen, 0)
        csum = self.udp_checksum
        if csum is None:
            pseudo = struct.pack("!4s4sBBH", socket.inet_aton(self.src_ip),
                                 socket.inet_aton(self.dst_ip), 0, IPPROTO_UDP,
                                 8 + len(self.payload))
            csum = checksum(pseudo + hdr + self.payload) or 0xFFFF
        return hdr[:6] + struct.pack("!H", csum) + self.payload

    def correct_udp_checksum(self):
        saved, self.udp_checksum = self.udp_checksum, None
        csum = struct.unpack("!H", self.udp()[6:8])[0]
        self.udp_checksum = saved
        return csum

    def ip(self):
        l4 = self.udp()
        total = self.ip_total_len if self.ip_total_len is not None else 20 + len(l4)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | self.ihl, 0, total, 0x1234, 0x4000,
                          self.ttl, IPPROTO_UDP, 0, socket.inet_aton(self.src_ip),
                          socket.inet_aton(self.dst_ip))
        csum = self.ip_checksum if self.ip_checksum is not None else checksum(hdr)
        return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + l4

    def build(self):
        frame = (mac_bytes(self.dst_mac) + mac_bytes(self.src_mac) +
                 struct.pack("!H", ETH_P_IP) + self.ip())
        if self.truncate_to is not None:
            frame = frame[:self.truncate_to]
        return frame


def send_raw(iface, frames):
    """Send each frame (bytes) as is on iface."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((iface, 0))
        for f in frames:
            s.send(f)
    finally:
        s.close()
