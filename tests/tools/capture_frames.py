#!/usr/bin/env python3
"""Capture real Cassandra native-protocol bytes for the frame/proto unit tests.

Plain sockets, no driver: the framing and CRCs below are written from the
spec and Cassandra's Crc.java, independently of the C code, so a server
that answers proves them right, and the C tests then check that our C
writer produces the very same request bytes and our decoder reads the
server's answers.

  python3 tests/tools/capture_frames.py [host] [port]

writes tests/unit/data/<name>.req (every byte sent) and <name>.resp (every
byte received) for: v5 (CRC frames), v5lz4 (LZ4 frames), v4 and v4lz4.
"""
import os
import socket
import struct
import sys
import time
import zlib

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "data")
MAX_PAYLOAD = 128 * 1024 - 1


def crc24(data):
    crc = 0x875060
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1974F0B
    return crc & 0xFFFFFF


def crc32(data):
    return zlib.crc32(data, zlib.crc32(b"\xfa\x2d\x55\xca")) & 0xFFFFFFFF


def frame(payload, self_contained, lz4):
    """One v5 frame; with lz4 the payload is stored (uncompressed length 0),
    which is what our C writer does for payloads LZ4 cannot shrink."""
    n = len(payload)
    sc = 1 if self_contained else 0
    if lz4:
        fields = (n | (0 << 17) | (sc << 34)).to_bytes(5, "little")
    else:
        fields = (n | (sc << 17)).to_bytes(3, "little")
    return fields + crc24(fields).to_bytes(3, "little") + payload + crc32(payload).to_bytes(4, "little")


def frames(stream, lz4):
    """Small envelopes share a self-contained frame; a large one is split."""
    out, group, i = b"", b"", 0
    while i < len(stream):
        size = 9 + struct.unpack(">I", stream[i + 5:i + 9])[0]
        env = stream[i:i + size]
        if group and len(group) + size > MAX_PAYLOAD:
            out += frame(group, True, lz4)
            group = b""
        if size > MAX_PAYLOAD:
            for o in range(0, size, MAX_PAYLOAD):
                out += frame(env[o:o + MAX_PAYLOAD], False, lz4)
        else:
            group += env
        i += size
    if group:
        out += frame(group, True, lz4)
    return out


def string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def long_string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def envelope(version, stream, opcode, body, flags=0):
    return struct.pack(">BBhBI", version, flags, stream, opcode, len(body)) + body


def startup(compression):
    kv = [("CQL_VERSION", "3.0.0")]
    if compression:
        kv.append(("COMPRESSION", compression))
    kv += [("DRIVER_NAME", "cqlshift"), ("DRIVER_VERSION", "0.1.0")]
    return struct.pack(">H", len(kv)) + b"".join(string(k) + string(v) for k, v in kv)


def query(version, cql, consistency=1, page_size=0):
    """QUERY body as cql_msg_query writes it (no values)."""
    flags = 0x04 if page_size else 0
    body = long_string(cql) + struct.pack(">H", consistency)
    body += struct.pack(">I", flags) if version >= 5 else struct.pack(">B", flags)
    if page_size:
        body += struct.pack(">i", page_size)
    return body


def prepare(version, cql):
    body = long_string(cql)
    if version >= 5:
        body += struct.pack(">I", 0)
    return body


def recv_quiet(sock, idle=1.5, total=20.0):
    sock.settimeout(idle)
    data, end = b"", time.time() + total
    while time.time() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


BIG = "x" * 150000


def requests(version):
    """The envelopes sent after the handshake, in order: (stream, opcode, body)."""
    return [
        (1, 0x05, b""),  # OPTIONS
        (2, 0x07, query(version, "SELECT release_version FROM system.local")),
        (3, 0x07, query(version, "SELEC nothing")),  # Syntax_error
        (4, 0x07, query(version, "SELECT keyspace_name, table_name FROM system_schema.tables",
                        page_size=5)),
        (5, 0x09, prepare(version, "SELECT key, release_version FROM system.local WHERE key = ?")),
        (6, 0x07, query(version, "SELECT key FROM system.local WHERE key = '%s'" % BIG)),
        (7, 0x07, query(version, "SELECT textAsBlob('%s') FROM system.local" % BIG)),
    ]


def capture(name, version, compression, host, port):
    sock = socket.create_connection((host, port), 5)
    sent = envelope(version, 0, 0x01, startup(compression))
    sock.sendall(sent)
    ready = recv_quiet(sock, idle=1.0)
    if len(ready) < 9 or ready[4] != 0x02:
        raise SystemExit("%s: no READY: %r" % (name, ready[:200]))
    stream = b"".join(envelope(version, s, op, body) for s, op, body in requests(version))
    if version >= 5:
        # Envelopes in separate frames for the first two, then the rest
        # grouped: shows both one-envelope and several-envelope frames.
        envs = [envelope(version, s, op, body) for s, op, body in requests(version)]
        wire = frames(envs[0], compression == "lz4") + frames(b"".join(envs[1:]), compression == "lz4")
    elif compression:
        raise SystemExit("v4 lz4 requests need an LZ4 compressor; not captured")
    else:
        wire = stream
    sock.sendall(wire)
    resp = recv_quiet(sock)
    sock.close()
    with open(os.path.join(DATA, name + ".req"), "wb") as f:
        f.write(sent + wire)
    with open(os.path.join(DATA, name + ".resp"), "wb") as f:
        f.write(ready + resp)
    print("%s: sent %d bytes, received %d" % (name, len(sent) + len(wire), len(ready) + len(resp)))


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9042
    os.makedirs(DATA, exist_ok=True)
    capture("v5", 5, None, host, port)
    capture("v5lz4", 5, "lz4", host, port)
    capture("v4", 4, None, host, port)


if __name__ == "__main__":
    main()
