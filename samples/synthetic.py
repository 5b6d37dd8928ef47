"""Realistic synthetic host states, for the samples, the tests and the benchmarks.

:func:`host` builds the records of a xenstored that serves dom0 and ``guests``
guests with the nodes a libxl toolstack writes (``/local/domain/N/...``,
dom0's backend directories, ``/vm``, ``/libxl``), their permissions, watches,
quotas and pending data, and optionally pending transactions of the two
styles the amplification report distinguishes:

- *delta*: the transaction's records are only what it read and changed;
- *snapshot*: the transaction carries its whole view of a subtree, mostly
  identical copies of committed nodes.

Everything is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import struct
from typing import Iterator, Optional

from xsdump.model.records import (
    ACCESS_READ,
    ACCESS_WRITTEN,
    DOMID_INVALID,
    WATCH_DEPTH_UNLIMITED,
    ConnectionData,
    DomainData,
    End,
    GlobalData,
    GlobalQuotaData,
    Header,
    NodeData,
    Perm,
    RingSpec,
    SocketSpec,
    TransactionData,
    WatchData,
    WatchDataExtended,
)

QUOTA_NAMES = ("nodes", "watches", "transactions", "outstanding", "memory",
               "transaction-nodes", "node-permissions", "path-max", "node-size")
QUOTA_VALUES = (1000, 128, 10, 20, 2097152, 1024, 5, 1024, 2048)


def wire(op: int, req_id: int, tx_id: int, payload: bytes, order: str = "little") -> bytes:
    """One xenstore wire message."""
    fmt = "<IIII" if order == "little" else ">IIII"
    return struct.pack(fmt, op, req_id, tx_id, len(payload)) + payload


def _uuid(domid: int) -> str:
    return f"7a3c{domid:04x}-51e2-4d3b-9f0e-{domid:012x}"


def guest_nodes(domid: int) -> list[tuple[str, bytes, tuple[Perm, ...]]]:
    """The nodes libxl writes for one PV guest with a disk, a NIC and a console."""
    dom = f"/local/domain/{domid}"
    be = "/local/domain/0/backend"
    own = (Perm("n", 0, 0), Perm("r", 0, domid))  # dom0 owns, guest reads
    guest = (Perm("n", 0, domid), Perm("r", 0, 0))  # guest owns, dom0 reads
    backend = (Perm("n", 0, 0), Perm("r", 0, domid))
    uuid = _uuid(domid)
    mac = f"00:16:3e:{(domid >> 8) & 0xFF:02x}:{domid & 0xFF:02x}:01"
    n: list[tuple[str, bytes, tuple[Perm, ...]]] = []

    def add(path: str, value: str | bytes = b"", perms=own) -> None:
        n.append((path, value.encode() if isinstance(value, str) else value, perms))

    add(f"/vm/{uuid}", perms=own)
    for key, value in (("uuid", uuid), ("name", f"guest{domid}"), ("start_time", f"17{domid:08d}.42"),
                       ("image/ostype", "linux"), ("image/kernel", "/boot/vmlinuz")):
        if key == "image/ostype":
            add(f"/vm/{uuid}/image")
        add(f"/vm/{uuid}/{key}", value)
    add(dom)
    for key, value in (("vm", f"/vm/{uuid}"), ("name", f"guest{domid}"), ("domid", str(domid)),
                       ("cpu", ""), ("cpu/0", ""), ("cpu/0/availability", "online"),
                       ("cpu/1", ""), ("cpu/1/availability", "online"),
                       ("memory", ""), ("memory/static-max", "1048576"), ("memory/target", "1048577"),
                       ("memory/videoram", "-1")):
        add(f"{dom}/{key}", value)
    add(f"{dom}/control", perms=own)
    for key in ("shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "feature-s3",
                "feature-s4", "platform-feature-multiprocessor-suspend", "platform-feature-xs_reset_watches",
                "sysrq"):
        add(f"{dom}/control/{key}", "1" if key.startswith(("feature", "platform")) else "", guest)
    for key in ("data", "drivers", "attr", "error", "feature", "device-misc"):
        add(f"{dom}/{key}", perms=guest)
    add(f"{dom}/store", perms=own)
    add(f"{dom}/store/port", "1")
    add(f"{dom}/store/ring-ref", "1044476")
    add(f"{dom}/console", perms=own)
    for key, value in (("ring-ref", "1044477"), ("port", "2"), ("limit", "1048576"), ("type", "xenconsoled"),
                       ("output", "pty"), ("tty", f"/dev/pts/{domid % 64}")):
        add(f"{dom}/console/{key}", value, guest if key in ("ring-ref", "port") else own)
    add(f"{dom}/device", perms=guest)
    add(f"{dom}/device/vbd", perms=guest)
    add(f"{dom}/device/vbd/51712", perms=guest)
    for key, value in (("backend", f"{be}/vbd/{domid}/51712"), ("backend-id", "0"), ("state", "4"),
                       ("virtual-device", "51712"), ("device-type", "disk"), ("ring-ref", "8"),
                       ("event-channel", "5"), ("protocol", "x86_64-abi"), ("feature-persistent", "1")):
        add(f"{dom}/device/vbd/51712/{key}", value, guest)
    add(f"{dom}/device/vif", perms=guest)
    add(f"{dom}/device/vif/0", perms=guest)
    for key, value in (("backend", f"{be}/vif/{domid}/0"), ("backend-id", "0"), ("state", "4"),
                       ("handle", "0"), ("mac", mac), ("mtu", "1500"), ("tx-ring-ref", "9"),
                       ("rx-ring-ref", "10"), ("event-channel", "6"), ("request-rx-copy", "1"),
                       ("feature-rx-notify", "1"), ("feature-sg", "1"), ("feature-gso-tcpv4", "1")):
        add(f"{dom}/device/vif/0/{key}", value, guest)
    for kind, dev, keys in (
        ("vbd", "51712", (("frontend", f"{dom}/device/vbd/51712"), ("params", f"/dev/vg0/guest{domid}"),
                          ("script", "/etc/xen/scripts/block"), ("physical-device", f"fe:{domid % 256:x}"),
                          ("mode", "w"), ("online", "1"), ("removable", "0"), ("bootable", "1"),
                          ("state", "4"), ("dev", "xvda"), ("type", "phy"), ("frontend-id", str(domid)),
                          ("feature-flush-cache", "1"), ("discard-enable", "1"), ("sector-size", "512"),
                          ("sectors", "41943040"), ("info", "0"), ("hotplug-status", "connected"))),
        ("vif", "0", (("frontend", f"{dom}/device/vif/0"), ("frontend-id", str(domid)), ("online", "1"),
                      ("state", "4"), ("script", "/etc/xen/scripts/vif-bridge"), ("mac", mac),
                      ("bridge", "xenbr0"), ("handle", "0"), ("type", "vif"), ("hotplug-status", "connected"),
                      ("feature-sg", "1"), ("feature-gso-tcpv4", "1"), ("feature-rx-copy", "1"))),
    ):
        add(f"{be}/{kind}/{domid}", perms=backend)
        add(f"{be}/{kind}/{domid}/{dev}", perms=backend)
        for key, value in keys:
            add(f"{be}/{kind}/{domid}/{dev}/{key}", value, backend)
    add(f"/libxl/{domid}", perms=(Perm("n", 0, 0),))
    for key, value in (("type", "pv"), ("dm-version", "qemu_xen"), ("device", ""), ("device/vbd", ""),
                       ("device/vbd/51712", ""), ("device/vbd/51712/frontend", f"{dom}/device/vbd/51712"),
                       ("device/vif", ""), ("device/vif/0", ""), ("device/vif/0/frontend", f"{dom}/device/vif/0")):
        add(f"/libxl/{domid}/{key}", value, (Perm("n", 0, 0),))
    return n


def _parents_first(nodes):
    """Order nodes so that every node follows its parent (a pre-order walk)."""
    seen = set()
    out = []
    for path, value, perms in sorted(nodes, key=lambda n: n[0].split("/")):
        parts = path.split("/")
        for i in range(2, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in seen:
                seen.add(parent)
                out.append((parent, b"", (Perm("n", 0, 0),)))
        if path not in seen:
            seen.add(path)
            out.append((path, value, perms))
    return out


def committed_nodes(guests: int) -> list[tuple[str, bytes, tuple[Perm, ...]]]:
    """Every committed node of a host with dom0 and ``guests`` guests, parents first."""
    dom0 = [
        ("/local/domain/0/name", b"Domain-0", (Perm("n", 0, 0),)),
        ("/local/domain/0/domid", b"0", (Perm("n", 0, 0),)),
        ("/local/domain/0/memory/target", b"4194304", (Perm("n", 0, 0),)),
        ("/tool/xenstored", b"", (Perm("n", 0, 0),)),
    ]
    nodes = list(dom0)
    for domid in range(1, guests + 1):
        nodes.extend(guest_nodes(domid))
    if guests:
        # Guests write what they like: terminal escapes, markup, NULs, non-UTF-8.
        guest1 = (Perm("b", 0, 1),)
        nodes.append(("/local/domain/1/data/greeting", b"\x1b]52;c;aGk=\x07[bold red]hi\r\x00\xff\xfe", guest1))
        nodes.append(("/local/domain/1/data/[blink]x", "caf\u00e9".encode(), guest1))
    tree = [("/", b"", (Perm("n", 0, 0),))] + _parents_first(nodes)
    tree += [("@releaseDomain", b"", (Perm("n", 0, 0),)), ("@introduceDomain", b"", (Perm("n", 0, 0),))]
    return tree


def host(
    guests: int = 3,
    *,
    version: int = 2,
    byte_order: str = "little",
    delta_transactions: int = 1,
    snapshot_transactions: int = 1,
    snapshot_root: Optional[str] = None,
    transactions_after_nodes: bool = False,
) -> Iterator:
    """The header and records of a host dump.

    Transactions are opened by guests 1, 2, ... in turn: first the delta
    ones, then the snapshot ones.  A snapshot transaction carries every
    committed node under ``snapshot_root`` (default: its own domain's
    subtree; ``/`` for the whole tree) as read, one of them stale (changed
    since it was read), plus one write.
    """
    yield Header(version, 1 if byte_order == "big" else 0)
    yield GlobalData(rw_socket_fd=5, evtchn_fd=6)
    yield GlobalQuotaData(len(QUOTA_NAMES), QUOTA_VALUES, QUOTA_NAMES)
    # dom0's toolstack on the socket: a partial WRITE being read, an answer
    # being sent, and the OK for the live-update request queued last.
    partial_write = wire(11, 41, 0, b"/local/domain/1/memory/target\x001048576", byte_order)[:30]
    yield ConnectionData(
        1, 1, 0, SocketSpec(17),
        out_resp_len=6,
        in_data=partial_write,
        out_data=b"guest1" + wire(0, 40, 0, b"OK\x00", byte_order),
    )
    yield WatchData(1, "@releaseDomain", "release")
    yield WatchData(1, "@introduceDomain", "introduce")
    yield WatchData(1, "/local/domain/0/backend", "backend")
    conn_of = {}
    for domid in range(1, guests + 1):
        conn_id = domid + 1
        conn_of[domid] = conn_id
        out = b""
        if domid == 1:
            out = wire(15, 0, 0, b"/local/domain/1/device/vif/0/state\x00vif0\x00", byte_order)
        yield ConnectionData(conn_id, 0, 1, RingSpec(domid, DOMID_INVALID, 10 + domid),
                             out_data=out, unique_id=0x1000 + domid)
        yield WatchData(conn_id, f"/local/domain/{domid}/control/shutdown", "control")
        if version >= 2:
            yield WatchDataExtended(conn_id, f"/local/domain/{domid}/device", "devices", 2)
        else:
            yield WatchData(conn_id, f"/local/domain/{domid}/device", "devices")
        if domid == 1:
            if version >= 2:
                yield WatchDataExtended(conn_id, f"/local/domain/{domid}/memory", "mem", WATCH_DEPTH_UNLIMITED)
            else:
                yield WatchData(conn_id, f"/local/domain/{domid}/memory", "mem")

    tree = committed_nodes(guests)
    # Generated as they are written: a snapshot-heavy host is many times the
    # store, and only the committed tree is held.
    if not transactions_after_nodes:
        yield from _transactions(tree, guests, conn_of, delta_transactions, snapshot_transactions, snapshot_root)
    for path, value, perms in tree:
        yield NodeData(0, 0, 0, perms, path, value)
    if transactions_after_nodes:
        yield from _transactions(tree, guests, conn_of, delta_transactions, snapshot_transactions, snapshot_root)
    for domid in range(0, guests + 1):
        yield DomainData(domid, 1 if version >= 2 else 0, (1000, 128), ("nodes", "watches"))
    yield End()


def _transactions(tree, guests, conn_of, n_delta, n_snapshot, snapshot_root):
    owners = [1 + i % max(guests, 1) for i in range(n_delta + n_snapshot)]
    by_path = {p: (v, perms) for p, v, perms in tree} if n_delta else {}
    for i in range(n_delta + n_snapshot):
        domid = owners[i]
        conn_id = conn_of.get(domid, 1)
        tx_id = 100 + i
        yield TransactionData(conn_id, tx_id)
        dom = f"/local/domain/{domid}"
        if i < n_delta:
            state = f"{dom}/device/vif/0/state"
            v, perms = by_path[state]
            yield NodeData(conn_id, tx_id, ACCESS_READ | ACCESS_WRITTEN, perms, state, b"5")
            yield NodeData(conn_id, tx_id, ACCESS_READ, perms, f"{dom}/device/vif/0/backend-id", b"0")
            yield NodeData(conn_id, tx_id, ACCESS_WRITTEN, perms, f"{dom}/data/updated", b"1")
            yield NodeData(conn_id, tx_id, 0, (), f"{dom}/control/sysrq", b"")
        else:
            root = snapshot_root or dom
            prefix = root.rstrip("/") + "/"
            for path, value, perms in tree:
                if path == root or path.startswith(prefix) or (root == "/" and path.startswith("/")):
                    if path == f"{dom}/memory/target":
                        value = b"1048576"  # since ballooned: the committed value moved on
                    yield NodeData(conn_id, tx_id, ACCESS_READ, perms, path, value)
            yield NodeData(conn_id, tx_id, ACCESS_WRITTEN, (Perm("n", 0, domid), Perm("r", 0, 0)),
                           f"{dom}/data/snapshot-write", b"done")


def encode_host(items) -> Iterator[bytes]:
    """The bytes of a host's records, as :func:`xsdump.codec.writer.encode_items`
    gives them, faster for a snapshot-heavy host: a transaction record that
    differs from one encoded before only in its conn-id and tx-id is that
    record's bytes with the two ids put in (the NODE_DATA layout: both ids
    right after the 8-byte record header)."""
    from xsdump.codec.writer import encode_header, encode_record

    it = iter(items)
    header = next(it)
    yield encode_header(header)
    order, version = header.byte_order, header.version
    ids = struct.Struct("<II" if order == "little" else ">II").pack
    seen: dict[tuple, bytes] = {}
    for record in it:
        if type(record) is not NodeData or not record.conn_id:
            yield encode_record(record, order, version)
            continue
        key = (record.access, record.perms, record.path, record.value)
        raw = seen.get(key)
        if raw is None:
            raw = seen[key] = encode_record(record, order, version)
            if len(seen) > 1 << 20:
                seen.clear()
                seen[key] = raw
            yield raw
        else:
            yield raw[:8] + ids(record.conn_id, record.tx_id) + raw[16:]
