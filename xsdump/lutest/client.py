"""A small client for the xenstore wire protocol, over a socket or a guest ring.

A message is a 16-byte header -- u32 type, req_id, tx_id, len, in the host's
native byte order -- followed by ``len`` payload bytes.  The same framing runs
over the daemon's unix socket and over a guest's shared ring page.

Values are bytes (NULs and non-UTF-8 allowed); paths and tokens may be given
as str or bytes.  Watch events that arrive while waiting for a reply are kept
in ``Connection.events`` as ``(path, token)`` byte pairs.

Guest connections use a ring page the way the LD_PRELOAD fake (fakexen.c)
expects: the file ``$FAKEXEN_ROOT/ring-<domid>`` is the page, and a guest
notifies the daemon by writing its event-channel port (u32) into the FIFO
``$FAKEXEN_ROOT/evtchn``.
"""
from __future__ import annotations

import errno as _errno
import mmap
import os
import socket
import struct
import time
from pathlib import Path

from xsdump.model.wire import HEADER as WIRE_HEADER

# Operation numbers (xen/include/public/io/xs_wire.h).
XS_CONTROL = 0
XS_DIRECTORY = 1
XS_READ = 2
XS_GET_PERMS = 3
XS_WATCH = 4
XS_UNWATCH = 5
XS_TRANSACTION_START = 6
XS_TRANSACTION_END = 7
XS_INTRODUCE = 8
XS_RELEASE = 9
XS_GET_DOMAIN_PATH = 10
XS_WRITE = 11
XS_MKDIR = 12
XS_RM = 13
XS_SET_PERMS = 14
XS_WATCH_EVENT = 15
XS_ERROR = 16
XS_IS_DOMAIN_INTRODUCED = 17
XS_RESET_WATCHES = 21

HEADER = WIRE_HEADER["native"]  # type, req_id, tx_id, len; native order
RING_SIZE = 1024
PAGE_SIZE = 4096
# struct xenstore_domain_interface: req[1024], rsp[1024], then u32 indexes.
_REQ, _RSP = 0, RING_SIZE
_REQ_CONS, _REQ_PROD, _RSP_CONS, _RSP_PROD = 2048, 2052, 2056, 2060
_U32 = struct.Struct("=I")

DEFAULT_TIMEOUT = 10.0


class XenstoreError(OSError):
    """The daemon answered XS_ERROR; ``name`` is the errno name it sent."""

    def __init__(self, name: str, op: int, what: bytes = b""):
        self.name = name
        code = getattr(_errno, name, 0)
        super().__init__(code, f"{name} (op {op}) {what!r}")


def _b(s: str | bytes) -> bytes:
    return s.encode() if isinstance(s, str) else bytes(s)


def encode_message(op: int, payload: bytes, req_id: int = 0, tx_id: int = 0) -> bytes:
    return HEADER.pack(op, req_id, tx_id, len(payload)) + payload


# --------------------------------------------------------------------------
# Transports: send bytes, receive whatever is available.
# --------------------------------------------------------------------------

class SocketTransport:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    @classmethod
    def connect(cls, path: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(os.fspath(path))
        except BaseException:
            s.close()
            raise
        return cls(s)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, deadline: float) -> bytes:
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return b""
        if not data:
            raise ConnectionError("xenstore daemon closed the socket")
        return data

    def close(self) -> None:
        self.sock.close()


class RingTransport:
    """The guest side of a xenstore ring page shared with the daemon."""

    def __init__(self, page_path: str | os.PathLike, evtchn_fifo: str | os.PathLike,
                 port: int):
        fd = os.open(page_path, os.O_RDWR)
        try:
            self.page = mmap.mmap(fd, PAGE_SIZE, mmap.MAP_SHARED)
        finally:
            os.close(fd)
        self.fifo = os.fspath(evtchn_fifo)
        self.port = port

    def _get(self, off: int) -> int:
        return _U32.unpack_from(self.page, off)[0]

    def _set(self, off: int, val: int) -> None:
        _U32.pack_into(self.page, off, val & 0xFFFFFFFF)

    def notify(self) -> None:
        """Raise our event channel: write our port into the daemon's FIFO."""
        fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, _U32.pack(self.port))
        finally:
            os.close(fd)

    def send(self, data: bytes, timeout: float = DEFAULT_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while data:
            cons, prod = self._get(_REQ_CONS), self._get(_REQ_PROD)
            space = RING_SIZE - (prod - cons)
            if space <= 0:
                if time.monotonic() > deadline:
                    raise TimeoutError("guest request ring stays full")
                self.notify()
                time.sleep(0.001)
                continue
            idx = prod % RING_SIZE
            n = min(space, RING_SIZE - idx, len(data))
            self.page[_REQ + idx:_REQ + idx + n] = data[:n]
            self._set(_REQ_PROD, prod + n)
            data = data[n:]
            self.notify()

    def recv(self, deadline: float) -> bytes:
        while True:
            cons, prod = self._get(_RSP_CONS), self._get(_RSP_PROD)
            if prod != cons:
                out = bytearray()
                while cons != prod:
                    idx = cons % RING_SIZE
                    n = min(prod - cons, RING_SIZE - idx)
                    out += self.page[_RSP + idx:_RSP + idx + n]
                    cons += n
                self._set(_RSP_CONS, cons)
                self.notify()  # there is room again for the daemon's output
                return bytes(out)
            if time.monotonic() >= deadline:
                return b""
            time.sleep(0.001)

    def close(self) -> None:
        self.page.close()


# --------------------------------------------------------------------------
# Connection: the protocol operations.
# --------------------------------------------------------------------------

class Connection:
    def __init__(self, transport, name: str = ""):
        self.t = transport
        self.name = name
        self.events: list[tuple[bytes, bytes]] = []
        self._buf = b""
        self._next_req = 1

    # -- framing ----------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.t.send(data)

    def _read_message(self, deadline: float):
        while True:
            if len(self._buf) >= HEADER.size:
                op, req_id, tx_id, length = HEADER.unpack_from(self._buf)
                if len(self._buf) >= HEADER.size + length:
                    payload = self._buf[HEADER.size:HEADER.size + length]
                    self._buf = self._buf[HEADER.size + length:]
                    return op, req_id, tx_id, payload
            data = self.t.recv(deadline)
            if not data and time.monotonic() >= deadline:
                raise TimeoutError(f"no reply from xenstore daemon on {self.name or 'connection'}")
            self._buf += data

    def _take_event(self, payload: bytes) -> None:
        path, token = payload.split(b"\0")[:2]
        self.events.append((path, token))

    def send_request(self, op: int, payload: bytes = b"", tx_id: int = 0) -> int:
        """Send a request without waiting; returns its req_id for wait_reply()."""
        req_id = self._next_req
        self._next_req += 1
        self.t.send(encode_message(op, payload, req_id, tx_id))
        return req_id

    def wait_reply(self, req_id: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """The reply payload to request ``req_id`` (raise XenstoreError on XS_ERROR,
        TimeoutError when none comes in time; a later call can go on waiting)."""
        deadline = time.monotonic() + timeout
        while True:
            rop, rid, _tx, data = self._read_message(deadline)
            if rop == XS_WATCH_EVENT:
                self._take_event(data)
                continue
            if rid != req_id:
                continue  # a stale reply, e.g. to a request sent before a restore
            if rop == XS_ERROR:
                raise XenstoreError(data.rstrip(b"\0").decode(errors="replace"), rop)
            return data

    def request(self, op: int, payload: bytes = b"", tx_id: int = 0,
                timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Send one request and return the reply payload (raise on XS_ERROR)."""
        req_id = self.send_request(op, payload, tx_id)
        try:
            return self.wait_reply(req_id, timeout)
        except XenstoreError as e:
            raise XenstoreError(e.name, op, payload[:60]) from None

    def send_partial(self, op: int, payload: bytes, nbytes: int,
                     tx_id: int = 0) -> bytes:
        """Send only the first ``nbytes`` of a request and leave it pending.

        Returns the whole message, so a test can send the rest later with
        ``send_raw(msg[nbytes:])``.
        """
        req_id = self._next_req
        self._next_req += 1
        msg = encode_message(op, payload, req_id, tx_id)
        if not 0 < nbytes < len(msg):
            raise ValueError("a partial request must be a strict prefix")
        self.t.send(msg[:nbytes])
        return msg

    def sync(self) -> None:
        """A round trip: afterwards every watch event queued earlier is in ``events``."""
        self.request(XS_GET_DOMAIN_PATH, b"0\0")  # allowed for guests too

    def wait_event(self, timeout: float = DEFAULT_TIMEOUT, match=None):
        """Wait for a watch event (optionally one for which ``match(path, token)`` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if match is None or match(*ev):
                    return self.events.pop(i)
            op, _rid, _tx, data = self._read_message(deadline)
            if op == XS_WATCH_EVENT:
                self._take_event(data)

    # -- operations ---------------------------------------------------------

    def read(self, path, tx: int = 0) -> bytes:
        return self.request(XS_READ, _b(path) + b"\0", tx)

    def write(self, path, value: bytes | str, tx: int = 0) -> None:
        self.request(XS_WRITE, _b(path) + b"\0" + _b(value), tx)

    def mkdir(self, path, tx: int = 0) -> None:
        self.request(XS_MKDIR, _b(path) + b"\0", tx)

    def rm(self, path, tx: int = 0) -> None:
        self.request(XS_RM, _b(path) + b"\0", tx)

    def directory(self, path, tx: int = 0) -> list[bytes]:
        data = self.request(XS_DIRECTORY, _b(path) + b"\0", tx)
        return [x for x in data.split(b"\0") if x]

    def get_perms(self, path, tx: int = 0) -> list[str]:
        data = self.request(XS_GET_PERMS, _b(path) + b"\0", tx)
        return [x.decode() for x in data.split(b"\0") if x]

    def set_perms(self, path, perms: list[str], tx: int = 0) -> None:
        """``perms`` like ``["n0", "r5", "b5"]``: owner first, then ACL entries."""
        body = b"".join(_b(p) + b"\0" for p in perms)
        self.request(XS_SET_PERMS, _b(path) + b"\0" + body, tx)

    def watch(self, path, token) -> None:
        self.request(XS_WATCH, _b(path) + b"\0" + _b(token) + b"\0")

    def unwatch(self, path, token) -> None:
        self.request(XS_UNWATCH, _b(path) + b"\0" + _b(token) + b"\0")

    def transaction_start(self) -> int:
        return int(self.request(XS_TRANSACTION_START, b"\0").rstrip(b"\0"))

    def transaction_end(self, tx: int, commit: bool = True) -> None:
        self.request(XS_TRANSACTION_END, b"T\0" if commit else b"F\0", tx)

    def introduce(self, domid: int, mfn: int, port: int) -> None:
        self.request(XS_INTRODUCE, f"{domid}\0{mfn}\0{port}\0".encode())

    def release(self, domid: int) -> None:
        self.request(XS_RELEASE, f"{domid}\0".encode())

    def is_domain_introduced(self, domid: int) -> bool:
        return self.request(XS_IS_DOMAIN_INTRODUCED, f"{domid}\0".encode()).startswith(b"T")

    def control(self, *args: str | bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """XS_CONTROL: the arguments NUL-separated; returns the reply text."""
        body = b"".join(_b(a) + b"\0" for a in args)
        return self.request(XS_CONTROL, body, timeout=timeout).rstrip(b"\0")

    def close(self) -> None:
        self.t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect_socket(path, name: str = "socket") -> Connection:
    return Connection(SocketTransport.connect(path), name)


def create_ring_page(fakexen_root: str | os.PathLike, domid: int) -> Path:
    """Create guest ``domid``'s (zeroed) ring page; for fakexen the guest now exists."""
    page = Path(fakexen_root) / f"ring-{domid}"
    with open(page, "wb") as f:
        f.write(bytes(PAGE_SIZE))
    return page


def introduce_guest(dom0: Connection, fakexen_root: str | os.PathLike, domid: int,
                    port: int, mfn: int | None = None) -> Connection:
    """XS_INTRODUCE guest ``domid`` (creating its ring page if missing); return its connection.

    With fakexen.c the guest's event channel is bound with local port ==
    ``port``, so each guest should get a distinct port.
    """
    root = Path(fakexen_root)
    page = root / f"ring-{domid}"
    if not page.exists():
        create_ring_page(root, domid)
    dom0.introduce(domid, mfn if mfn is not None else 0x1000 + domid, port)
    return Connection(RingTransport(page, root / "evtchn", port), f"guest-{domid}")
