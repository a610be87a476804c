"""A fault-injecting TCP proxy in front of a real Cassandra node, for tests.

It forwards bytes both ways and, depending on its mode, injects one kind of
fault that a healthy server would not produce on demand:

  refuse_v5      answer a protocol-v5 STARTUP with the PROTOCOL_ERROR an older
                 (v4-only) server sends, and close; v4 connections pass through.
  reset          close the first `resets` connections after `after_bytes`
                 bytes went from the server to the client (mid-stream reset).
  blackhole      on the first `resets` connections, stop passing the server's
                 answers on after `after_bytes` bytes (the connection stays open),
                 so requests time out on the client.
  stale_prepared (protocol v4, no compression) corrupt the statement id of the
                 first EXECUTE, so the real server answers UNPREPARED.

In any mode, `go_down()` makes the node unreachable (live connections are
reset and new ones closed at once) until `come_back()`: an outage.

Everything runs in daemon threads on 127.0.0.1; `close()` stops it.
"""

import socket
import struct
import threading


class FaultProxy:
    def __init__(self, target=("127.0.0.1", 9042), mode="pass", resets=0, after_bytes=0):
        self.target = target
        self.mode = mode
        self.resets_left = resets
        self.after_bytes = after_bytes
        self.corrupted = 0
        self.refused = 0
        self.resets_done = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.down = False
        self.live = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def go_down(self):
        with self.lock:
            self.down = True
            live, self.live = list(self.live), set()
        for s in live:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass

    def come_back(self):
        with self.lock:
            self.down = False

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        with self.lock:
            if self.down:
                client.close()
                return
            self.live.add(client)
        first = _recv_exact(client, 9)
        if first is None:
            client.close()
            return
        if self.mode == "refuse_v5" and first[0] == 0x05:
            stream = struct.unpack(">h", first[2:4])[0]
            body_len = struct.unpack(">i", first[5:9])[0]
            _recv_exact(client, body_len)
            msg = (b"Invalid or unsupported protocol version (5); supported versions are "
                   b"(3/v3, 4/v4)")
            body = struct.pack(">iH", 0x000A, len(msg)) + msg
            client.sendall(struct.pack(">BBhBi", 0x84, 0, stream, 0x00, len(body)) + body)
            with self.lock:
                self.refused += 1
            client.close()
            return
        server = socket.create_connection(self.target)
        reset_this = False
        with self.lock:
            if self.mode in ("reset", "blackhole") and self.resets_left > 0:
                self.resets_left -= 1
                reset_this = True
        server.sendall(first)
        up = threading.Thread(target=self._client_to_server, args=(client, server, first),
                              daemon=True)
        up.start()
        sent = 0
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if self.mode == "blackhole" and reset_this and sent >= self.after_bytes:
                    continue  # swallow the answer
                client.sendall(data)
                sent += len(data)
                if self.mode == "reset" and reset_this and sent >= self.after_bytes:
                    with self.lock:
                        self.resets_done += 1
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))  # RST, not FIN
                    break
        except OSError:
            pass
        for s in (client, server):
            try:
                s.close()
            except OSError:
                pass

    def _client_to_server(self, client, server, first):
        """Forward client bytes; in stale_prepared mode parse v4 envelopes to
        find the first EXECUTE (the first 9 header bytes were already sent)."""
        try:
            if self.mode != "stale_prepared":
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    server.sendall(data)
                return
            header = first
            while True:
                body_len = struct.unpack(">i", header[5:9])[0]
                body = _recv_exact(client, body_len)
                if body is None:
                    break
                if header[4] == 0x0A:
                    with self.lock:
                        corrupt = self.corrupted == 0
                        if corrupt:
                            self.corrupted += 1
                    if corrupt:
                        # [short bytes] id: flip every byte of the id
                        n = struct.unpack(">H", body[:2])[0]
                        body = body[:2] + bytes(b ^ 0xFF for b in body[2:2 + n]) + body[2 + n:]
                server.sendall(body)
                header = _recv_exact(client, 9)
                if header is None:
                    break
                server.sendall(header)
        except OSError:
            pass
        finally:
            try:
                server.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf
