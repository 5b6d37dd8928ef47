"""Run a real xenstore daemon in the foreground, in a private temp dir.

    runtime = Runtime(preload=preload.build())
    with CDaemon(Path("/usr/sbin/xenstored"), runtime) as d:   # or OcamlDaemon
        c = d.connect()
        c.write("/a", b"\\x00\\xff")
        dump = d.live_update()              # bytes of the live-update dump
    with CDaemon(binary, runtime, restore=dump) as d2:   # a fresh process from a dump
        d2.restored[conn_id]                # its socket connections, our end

``make_daemon(kind, debian.ensure())`` runs the Debian 4.17 daemons.

Everything a daemon writes stays in its temp dir (``Daemon.dir``): the C
daemon gets ``XENSTORED_RUNDIR``/``XENSTORED_PATH``; the OCaml daemon's
hard-coded ``/var/run/xenstored`` paths are rewritten by fakexen.c to
``$FAKEXEN_ROOT/var/run/xenstored``, and its config file points pid and log
files into the temp dir.  Each daemon runs in its own process group, killed
on ``stop()`` / leaving the ``with`` block.

Live update: XS_CONTROL ``live-update -f <script>`` then ``live-update -s -t
<sec>`` until ``OK``.  The script, generated per update, copies the dump the
old process just wrote (C: ``$XENSTORED_RUNDIR/state_dump``, OCaml:
``/var/run/xenstored/db``) to ``Daemon.dir/captures/`` and execs the real
daemon with the arguments it was given (the C daemon adds ``-U``, the OCaml
one ``--live --restart``) -- or the binary given as ``update_to``.  A
``transform`` shell command, when given, is run by the script on the dump
between the capture and the new process (standard input the dump, standard
output the dump the new process reads), to inject a fault.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from xsdump.lutest import client as xsclient
from xsdump.lutest.errors import DaemonError, UpdateRefused  # noqa: F401 - UpdateRefused: where the callers find it
from xsdump.lutest.liveupdate import live_update

FDEXEC = Path(__file__).resolve().parent / "fdexec.py"
DOM0_PORT = 1          # written to xsd_port: dom0's event channel
READY_TIMEOUT = 15.0


class UpdateTargetError(DaemonError):
    """The live update could not reach the new process: the ``transform``
    failed, or the update target is not an executable file.  An error of the
    run, not a daemon's divergence."""


@dataclass(frozen=True)
class Runtime:
    """What every daemon runs with: the compiled hypervisor fake and, for
    daemons unpacked outside the system, their libraries' directories."""

    preload: Path
    library_path: str = ""


def kind_of(binary: Path) -> str:
    """``c`` or ``ocaml``: by the file name, else by the OCaml runtime's
    symbols in the executable."""
    name = Path(binary).name
    if "oxenstored" in name:
        return "ocaml"
    if name.startswith("xenstored"):
        return "c"
    try:
        with open(binary, "rb") as f:
            data = f.read(64 << 20)
    except OSError as e:
        raise DaemonError(f"{binary}: {e.strerror or e}") from None
    return "ocaml" if b"caml_startup" in data or b"caml_main" in data else "c"


def _short_tmpdir(prefix: str) -> Path:
    """A temp dir whose socket paths fit in sun_path (108 bytes)."""
    base = tempfile.gettempdir()
    if len(base) > 40:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


# --------------------------------------------------------------------------
# Just enough dump parsing to recreate the file descriptors a dump names.
# (xsdump is the real parser; the harness must not depend on it.)
# --------------------------------------------------------------------------

def scan_c_dump(data: bytes) -> dict:
    """Global fds and connections of a C xenstored migration stream."""
    if data[:8] != b"xenstore":
        raise DaemonError("not a xenstore migration stream")
    e = "<" if struct.unpack_from("<I", data, 12)[0] == 0 else ">"
    out = {"socket_fd": -1, "evtchn_fd": -1, "connections": []}
    off = 16
    while off + 8 <= len(data):
        rtype, length = struct.unpack_from(e + "II", data, off)
        body = data[off + 8:off + 8 + length]
        off = (off + 8 + length + 7) & ~7
        if rtype == 0:
            break
        if rtype == 1:
            out["socket_fd"], out["evtchn_fd"] = struct.unpack_from(e + "ii", body)
        elif rtype == 2:
            conn_id, ctype = struct.unpack_from(e + "IH", body)
            if ctype == 0:
                domid, _tdomid, evtchn = struct.unpack_from(e + "HHI", body, 8)
                out["connections"].append({"conn_id": conn_id, "type": "ring",
                                           "domid": domid, "evtchn": evtchn})
            else:
                (fd,) = struct.unpack_from(e + "i", body, 8)
                out["connections"].append({"conn_id": conn_id, "type": "socket",
                                           "socket_fd": fd})
    return out


def scan_ocaml_dump(data: bytes) -> dict:
    """Global fds and connections of an oxenstored ``$xenstored-dump-format`` file."""
    lines = data.decode("ascii", "replace").splitlines()
    if not lines or lines[0] != "$xenstored-dump-format":
        raise DaemonError("not an oxenstored dump")
    out = {"socket_fd": -1, "evtchn_fd": -1, "connections": []}
    for line in lines[1:]:
        f = line.split(",")
        if f[0] == "global":
            out["socket_fd"] = int(f[1])
        elif f[0] == "evtchn-dev":
            out["evtchn_fd"] = int(f[1])
        elif f[0] == "socket":
            out["connections"].append({"conn_id": -int(f[1]), "type": "socket",
                                       "socket_fd": int(f[1])})
        elif f[0] == "dom":
            out["connections"].append({"conn_id": int(f[1]), "type": "ring",
                                       "domid": int(f[1]), "evtchn": int(f[3])})
    return out


# --------------------------------------------------------------------------
# Daemons
# --------------------------------------------------------------------------

class Daemon:
    kind = "?"
    dump_suffix = ".dump"

    def __init__(self, binary: Path, runtime: Runtime, keep: bool | None = None,
                 restore: bytes | None = None, update_to: Path | None = None,
                 transform: str | None = None):
        """``restore``: a dump for ``with``/``start()`` to restore from;
        ``update_to``: the binary live updates go to (default: ``binary``);
        ``transform``: a shell command filtering the dump at each live update."""
        self.binary = Path(binary)
        self.update_to = Path(update_to) if update_to else self.binary
        self.runtime = runtime
        self.transform = transform
        self.restore_from = restore
        self.dir = _short_tmpdir(f"xsd-{self.kind}-")
        self.fx = self.dir / "fx"                # $FAKEXEN_ROOT
        self.captures = self.dir / "captures"
        self.keep = bool(os.environ.get("XSDUMP_KEEP_DAEMON_DIRS")) if keep is None else keep
        self.proc: subprocess.Popen | None = None
        self.restored: dict[int, xsclient.Connection] = {}
        self._conns: list[xsclient.Connection] = []
        self._lu = 0
        self.handed_over: Path | None = None   # the dump the last live update restored from
        self.handing_over: Path | None = None  # the dump the current (or last) live update hands over
        self._layout()

    # -- subclass specifics -----------------------------------------------------

    socket_path: Path
    dump_path: Path               # where the daemon itself writes its dump

    def argv(self, restore: bool) -> list[str]:
        raise NotImplementedError

    def _script_body(self, capture: Path) -> str:
        raise NotImplementedError

    @property
    def target_failure(self) -> Path:
        """Written by the live-update script when the transform or the update
        target fails: what failed."""
        return self.dir / "update-target-failed"

    def _capture_lines(self, capture: Path) -> str:
        """Keep a copy of the dump; apply the transform, keeping its result
        too; check that the update target can be run."""
        dump, copy = shlex.quote(str(self.dump_path)), shlex.quote(str(capture))
        failed = shlex.quote(str(self.target_failure))
        target = shlex.quote(str(self.update_to))
        lines = f"cp {dump} {copy} || exit 1\n"
        if self.transform:
            edited = shlex.quote(str(capture.with_name(capture.stem + ".transformed" + capture.suffix)))
            lines += (f"(unset LD_PRELOAD; exec sh -c {shlex.quote(self.transform)}) < {copy} > {edited} "
                      f"|| {{ echo \"--transform exited $?\" > {failed}; exit 1; }}\n"
                      f"cp {edited} {dump} || exit 1\n")
        lines += (f"[ -f {target} ] && [ -x {target} ] "
                  f"|| {{ echo \"--update-to {self.update_to} is not an executable file\" > {failed}; exit 1; }}\n")
        return lines

    def _raise_target_failure(self) -> None:
        if self.target_failure.exists():
            what = self.target_failure.read_text(errors="replace").strip()
            raise UpdateTargetError(f"live update: {what}; the daemon under test was not reached")

    def scan_dump(self, data: bytes) -> dict:
        raise NotImplementedError

    # -- environment ------------------------------------------------------------

    def _layout(self) -> None:
        for d in ("proc/xen", "var/run/xenstored", "var/log/xen", "var/lib/xenstored"):
            (self.fx / d).mkdir(parents=True, exist_ok=True)
        (self.fx / "proc/xen/xsd_kva").write_bytes(bytes(xsclient.PAGE_SIZE))
        (self.fx / "proc/xen/xsd_port").write_text(str(DOM0_PORT))  # no newline (oxenstored)
        self.captures.mkdir()
        (self.dir / "log").mkdir()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(FAKEXEN_ROOT=str(self.fx), LD_PRELOAD=str(self.runtime.preload))
        if self.runtime.library_path:
            env["LD_LIBRARY_PATH"] = self.runtime.library_path
        return env

    @property
    def log_path(self) -> Path:
        return self.dir / "daemon.log"

    def log_tail(self, n: int = 3000) -> str:
        parts = []
        for p in (self.log_path, self.dir / "log" / "xenstored.log"):
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-n:])
        return "\n".join(parts)

    # -- life cycle ---------------------------------------------------------------

    def start(self, restore: bytes | None = None) -> "Daemon":
        """Start the daemon (from ``restore``, a dump, when given) and wait until it answers.

        A restored daemon gets the dump's fds recreated: a new listening socket,
        the event-channel FIFO, and for each socket connection one end of a
        socketpair; the other end is in ``self.restored[conn_id]``.
        """
        if self.proc is not None:
            raise DaemonError("already started")
        if restore is None:
            restore = self.restore_from
        argv = self.argv(restore is not None)
        pass_fds: list[int] = []
        to_close: list = []
        if restore is not None:
            argv, pass_fds, to_close = self._prepare_restore(restore, argv)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env(), cwd=self.dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=pass_fds)
        for obj in to_close:
            obj.close()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_restore(self, dump: bytes, argv: list[str]):
        """Recreate the fds the dump names, place the dump, wrap argv in fdexec."""
        info = self.scan_dump(dump)
        pairs: list[tuple[int, int]] = []
        keep: list = []
        if info["socket_fd"] >= 0:
            ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ls.bind(str(self.socket_path))
            ls.listen(16)
            keep.append(ls)
            pairs.append((ls.fileno(), info["socket_fd"]))
        if info["evtchn_fd"] >= 0:
            fifo = self.fx / "evtchn"
            if not fifo.exists():
                os.mkfifo(fifo, 0o600)
            fd = os.open(fifo, os.O_RDWR)
            keep.append(_Fd(fd))
            pairs.append((fd, info["evtchn_fd"]))
        for c in info["connections"]:
            if c["type"] == "ring" and c["domid"] != 0:
                (self.fx / f"ring-{c['domid']}").write_bytes(bytes(xsclient.PAGE_SIZE))
            elif c["type"] == "socket":
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                keep.append(theirs)
                pairs.append((theirs.fileno(), c["socket_fd"]))
                conn = xsclient.Connection(xsclient.SocketTransport(ours), f"restored-{c['conn_id']}")
                self.restored[c["conn_id"]] = conn
                self._conns.append(conn)
        self.dump_path.parent.mkdir(parents=True, exist_ok=True)
        self.dump_path.write_bytes(dump)
        spec = ",".join(f"{s}={d}" for s, d in pairs)
        wrapped = [sys.executable, "-S", str(FDEXEC), spec, "--", *argv]
        return wrapped, [s for s, _ in pairs], keep

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll the socket until the daemon answers a request."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise DaemonError(f"{self.kind} daemon exited (status {self.proc.returncode if self.proc else None})\n"
                                  + self.log_tail())
            try:
                with xsclient.connect_socket(self.socket_path, "probe") as c:
                    c.request(xsclient.XS_READ, b"/\0", timeout=max(0.1, deadline - time.monotonic()))
                    open_fds = self._fd_count()
            except (OSError, TimeoutError) as e:
                last = e
                time.sleep(0.005)
                continue
            self._wait_fd_count_below(open_fds, deadline)
            return
        raise DaemonError(f"{self.kind} daemon not ready after {timeout}s ({last})\n" + self.log_tail())

    def _abort_update(self) -> bool:
        """Abort a pending live update (``live-update -a``), so that a
        daemon that never answered ``-s`` does not update later, unseen
        (oxenstored with ``-F`` waits for the open transactions to end);
        True when the daemon took the abort."""
        try:
            with xsclient.connect_socket(self.socket_path, "lu-abort") as c:
                c.control("live-update", "-a", timeout=2.0)
        except (OSError, TimeoutError, xsclient.XenstoreError):
            return False
        return True

    def _answers(self) -> bool:
        try:
            with xsclient.connect_socket(self.socket_path, "probe") as c:
                c.request(xsclient.XS_READ, b"/\0", timeout=0.2)
            return True
        except (OSError, TimeoutError):
            return False

    def _fd_count(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return -1

    def _wait_fd_count_below(self, count: int, deadline: float) -> None:
        """Wait until the daemon has closed its side of the probe connection.

        Otherwise the next client may get the fd number the probe is about
        to free, or not, at random -- and fds are part of the dumps.
        """
        while count > 0 and self._fd_count() >= count and time.monotonic() < deadline:
            time.sleep(0.002)

    def stop(self) -> None:
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._conns.clear()
        p = self.proc
        if p is not None and p.poll() is None:
            # The daemon leads its own process group (start_new_session):
            # signal the group while the leader is unreaped, so the id is ours.
            # Nothing is wanted from a daemon being stopped (its dumps are
            # taken by live updates), so it is killed at once: oxenstored
            # ignores SIGTERM, and waiting it out cost seconds per daemon.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- clients --------------------------------------------------------------------

    def connect(self, name: str = "socket") -> xsclient.Connection:
        c = xsclient.connect_socket(self.socket_path, name)
        self._conns.append(c)
        return c

    def introduce_guest(self, dom0: xsclient.Connection, domid: int, port: int,
                        mfn: int | None = None) -> xsclient.Connection:
        c = xsclient.introduce_guest(dom0, self.fx, domid, port, mfn)
        self._conns.append(c)
        return c

    # -- live update ------------------------------------------------------------------

    def live_update(self, conn: xsclient.Connection | None = None, timeout_s: int = 5,
                    deadline: float = 30.0, force: bool = False) -> bytes:
        """Live-update the daemon in place; return the dump it handed over
        (:func:`xsdump.lutest.liveupdate.live_update`)."""
        return live_update(self, conn, timeout_s, deadline, force)


class _Fd:
    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        os.close(self.fd)


class CDaemon(Daemon):
    """C xenstored: ``-N`` (foreground), rundir and socket in the temp dir."""
    kind = "c"
    dump_suffix = ".xsd"

    @property
    def rundir(self) -> Path:
        return self.dir / "run"

    @property
    def socket_path(self) -> Path:
        return self.rundir / "socket"

    @property
    def dump_path(self) -> Path:
        return self.rundir / "state_dump"

    def _layout(self) -> None:
        super()._layout()
        self.rundir.mkdir()

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(XENSTORED_RUNDIR=str(self.rundir), XENSTORED_PATH=str(self.socket_path))
        return env

    def argv(self, restore: bool) -> list[str]:
        return [str(self.binary), "-N"] + (["-U"] if restore else [])

    def _script_body(self, capture: Path) -> str:
        return self._capture_lines(capture) + f'exec {shlex.quote(str(self.update_to))} "$@"\n'

    def scan_dump(self, data: bytes) -> dict:
        return scan_c_dump(data)


class OcamlDaemon(Daemon):
    """oxenstored: ``--no-fork --config-file``; /var/run/xenstored rewritten by fakexen."""
    kind = "ocaml"
    dump_suffix = ".db"

    @property
    def socket_path(self) -> Path:
        return self.fx / "var/run/xenstored/socket"

    @property
    def dump_path(self) -> Path:
        return self.fx / "var/run/xenstored/db"

    @property
    def config_path(self) -> Path:
        return self.dir / "oxenstored.conf"

    def _layout(self) -> None:
        super()._layout()
        log = self.dir / "log"
        self.config_path.write_text(
            "# generated by xsdump lu-test\n"
            f"pid-file = {self.dir / 'xenstored.pid'}\n"
            f"xenstored-log-file = {log / 'xenstored.log'}\n"
            f"access-log-file = {log / 'xenstored-access.log'}\n"
            f"xenstored-kva = {self.fx / 'proc/xen/xsd_kva'}\n"
            f"xenstored-port = {self.fx / 'proc/xen/xsd_port'}\n")

    def argv(self, restore: bool) -> list[str]:
        return ([str(self.binary)] + (["--live", "--restart"] if restore else [])
                + ["--no-fork", "--config-file", str(self.config_path)])

    def _script_body(self, capture: Path) -> str:
        real = shlex.quote(str(self.update_to))
        # oxenstored first runs the new binary with --help to validate it.
        return (f'for a in "$@"; do [ "$a" = --help ] && exec {real} "$@"; done\n'
                + self._capture_lines(capture) + f'exec {real} "$@"\n')

    def scan_dump(self, data: bytes) -> dict:
        return scan_ocaml_dump(data)


DAEMONS = {"c": CDaemon, "ocaml": OcamlDaemon}


def make_daemon(kind: str, binaries, **kw) -> Daemon:
    """A daemon of the Debian packages ``binaries`` (:class:`xsdump.lutest.debian.Binaries`)."""
    return DAEMONS[kind](binaries.binary(kind), binaries.runtime, **kw)


def daemon_for(binary: Path, runtime: Runtime, **kw) -> Daemon:
    """A daemon of ``binary``, C or OCaml as :func:`kind_of` tells."""
    return DAEMONS[kind_of(binary)](binary, runtime, **kw)
