"""A workload: the connections a test opens and the steps it sends, as data.

A workload names everything itself -- connections (``s0``, ``s1``: dom0
sockets; ``g1``, ``g2``: guest rings, the number is the domid) and
transactions (``t1``, ``t2``...) -- so that two daemons' answers can be
compared whatever ids they hand out, and so that it can be written to a file
and replayed.  The file is JSON: a header object, then one object per step,
as NDJSON or as one document ``{"workload": HEADER, "steps": [...]}``.

    {"xsdump_lu_workload": 1, "seed": 7, "sockets": 2, "guests": [1, 2]}
    {"op": "tx-start", "conn": "g1", "tx": "t1"}
    {"op": "write", "conn": "g1", "tx": "t1", "path": "/lu/a", "value": "x"}
    {"op": "update"}
    {"op": "tx-end", "conn": "g1", "tx": "t1", "commit": true}

Values are text; a value that is not printable ASCII is ``{"base64": ...}``.
Operations: ``read``, ``write``, ``mkdir``, ``rm``, ``directory``,
``get-perms``, ``set-perms`` (``perms``: owner first, as ``["n0", "b1"]``),
``watch``, ``unwatch`` (``path``, ``token``; the special ``@introduceDomain``
and ``@releaseDomain`` too), ``reset-watches``, ``tx-start``, ``tx-end``
(``commit``), ``introduce`` and ``release`` (``domid``: a guest that comes
and goes; while introduced its ring is the connection ``g<domid>``),
``send-partial`` (the first ``split`` bytes of a ``write``, the rest held
back) and ``finish`` (the rest sent, the reply awaited): a request in flight
across whatever comes between, and ``update``: the live update (of the
instance under test only).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

FORMAT = 1
OPS = ("read", "write", "mkdir", "rm", "directory", "get-perms", "set-perms", "watch", "unwatch",
       "reset-watches", "tx-start", "tx-end", "introduce", "release", "send-partial", "finish", "update")
# The largest request payload the protocol allows (XENSTORE_PAYLOAD_MAX).
PAYLOAD_MAX = 4096
# Guests that come and go (introduced and released by the workload).
TRANSIENT_DOMIDS = (20, 21, 22)
SPECIAL_WATCHES = ("@introduceDomain", "@releaseDomain")
# The shared subtree every connection works in (the guests may write it),
# and the names its paths are made of: few, so that operations collide.
ROOT = "/lu"
NAMES = ("a", "b", "c")


@dataclass(frozen=True)
class Step:
    op: str
    conn: str = ""
    path: str = ""
    value: bytes = b""
    tx: str = ""
    token: str = ""
    perms: tuple = ()
    commit: bool = True
    domid: int = 0       # introduce, release
    split: int = 0       # send-partial: bytes of the message sent before the rest

    def to_json(self) -> dict:
        out: dict = {"op": self.op}
        if self.conn:
            out["conn"] = self.conn
        if self.tx:
            out["tx"] = self.tx
        if self.path:
            out["path"] = self.path
        if self.op in ("write", "send-partial"):
            out["value"] = _value_json(self.value)
        if self.op in ("introduce", "release"):
            out["domid"] = self.domid
        if self.op == "send-partial":
            out["split"] = self.split
        if self.token:
            out["token"] = self.token
        if self.op == "set-perms":
            out["perms"] = list(self.perms)
        if self.op == "tx-end":
            out["commit"] = self.commit
        return out

    @classmethod
    def from_json(cls, obj, where: str = "step") -> "Step":
        """A step from its JSON; anything of the wrong type or out of range
        is a ValueError naming ``where`` (the step) and the field."""
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object, not {_shown(obj)}")
        op = obj.get("op")
        if op not in OPS:
            raise ValueError(f"{where}: field op: {_shown(op)} is not one of {', '.join(OPS)}")
        where = f"{where} ({op})"
        conn = _text_field(obj, "conn", where)
        if op != "update" and not conn:
            raise ValueError(f"{where}: field conn: missing (every step but update names its connection)")
        perms = obj.get("perms", [])
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise ValueError(f"{where}: field perms must be a list of strings such as \"n0\", not {_shown(perms)}")
        commit = obj.get("commit", True)
        if not isinstance(commit, bool):
            raise ValueError(f"{where}: field commit must be true or false, not {_shown(commit)}")
        return cls(op=op, conn=conn, path=_text_field(obj, "path", where),
                   value=_value_from_json(obj.get("value", ""), where), tx=_text_field(obj, "tx", where),
                   token=_text_field(obj, "token", where), perms=tuple(perms), commit=commit,
                   domid=_int_field(obj, "domid", 0, 0x7FEF, where),
                   split=_int_field(obj, "split", 0, 16 + PAYLOAD_MAX * 2, where))

    def describe(self) -> str:
        """One line, for reports (the value escaped by the caller's renderer)."""
        parts = [self.conn or "-", self.op]
        if self.tx:
            parts.append(f"[{self.tx}]")
        if self.path:
            parts.append(self.path)
        if self.op in ("write", "send-partial"):
            value = self.value if len(self.value) <= 40 else self.value[:40]
            parts.append("= " + repr(value)[1:] + (f" ({len(self.value)} bytes)" if len(self.value) > 40 else ""))
        if self.op in ("introduce", "release"):
            parts.append(f"domain {self.domid}")
        if self.op == "send-partial":
            parts.append(f"(first {self.split} bytes)")
        if self.token:
            parts.append(f"token {self.token}")
        if self.op == "set-perms":
            parts.append(",".join(self.perms))
        if self.op == "tx-end":
            parts.append("commit" if self.commit else "abort")
        return " ".join(parts)


def _int_field(obj: dict, name: str, low: int, high: int, where: str) -> int:
    value = obj.get(name, low)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{where}: field {name} must be an integer from {low} to {high}, not {_shown(value)}")
    return value


def _value_json(value: bytes):
    if all(0x20 <= b < 0x7F for b in value):
        return value.decode("ascii")
    return {"base64": base64.b64encode(value).decode("ascii")}


def _shown(value) -> str:
    return json.dumps(value)[:60]


def _text_field(obj: dict, name: str, where: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {name} must be a string, not {_shown(value)}")
    return value


def _value_from_json(value, where: str = "step") -> bytes:
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{where}: field value: {_shown(value['base64'])} is not base64") from None
    if not isinstance(value, str):
        raise ValueError(f"{where}: field value must be a string or {{\"base64\": ...}}, not {_shown(value)}")
    return value.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Workload:
    """The connections (``sockets`` dom0 sockets, one ring per guest domid)
    and the steps.  Every run first introduces the guests, gives each its
    home, and creates :data:`ROOT` writable by every guest."""

    steps: tuple
    sockets: int = 2
    guests: tuple = (1, 2)
    seed: Optional[int] = None
    meta: dict = field(default_factory=dict, compare=False)

    def connections(self) -> list:
        return [f"s{i}" for i in range(self.sockets)] + [f"g{d}" for d in self.guests]

    def with_steps(self, steps: Iterable[Step]) -> "Workload":
        return replace(self, steps=tuple(steps))

    @property
    def updates(self) -> int:
        return sum(1 for s in self.steps if s.op == "update")

    def closing_steps(self) -> tuple:
        """An abort (``tx-end``, no commit) of every transaction the steps
        start and never end, each on its connection: how a run ends them,
        the same way on both daemons, before the final states are compared."""
        still_open: dict = {}
        for s in self.steps:
            if s.op == "tx-start":
                still_open[s.tx] = s.conn
            elif s.op == "tx-end":
                still_open.pop(s.tx, None)
        return tuple(Step("tx-end", conn, tx=name, commit=False) for name, conn in still_open.items())

    def closed(self) -> "Workload":
        """The workload with its :meth:`closing_steps` at the end."""
        closing = self.closing_steps()
        return self.with_steps(self.steps + closing) if closing else self

    def header(self) -> dict:
        out = {"xsdump_lu_workload": FORMAT, "seed": self.seed, "sockets": self.sockets,
               "guests": list(self.guests)}
        out.update(self.meta)
        return out

    def to_ndjson(self) -> bytes:
        lines = [self.header()] + [s.to_json() for s in self.steps]
        return b"".join(json.dumps(obj, separators=(", ", ": ")).encode() + b"\n" for obj in lines)


# The most connections of each kind a workload may open (each is a socket or
# a ring of the daemon under test, and of its reference).
MAX_SOCKETS = 64
MAX_GUESTS = 64


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(texts: Iterable) -> Workload:
    """A workload from its JSON texts: a header then steps, or one document.
    Every field is checked for its type and range before anything is made
    of it (no coercion): a ValueError names the step and the field."""
    texts = list(texts)
    if len(texts) == 1 and isinstance(texts[0], dict) and "steps" in texts[0]:
        doc = texts[0]
        header, steps = doc.get("workload", {}), doc["steps"]
    else:
        if not texts or not isinstance(texts[0], dict) or "xsdump_lu_workload" not in texts[0]:
            raise ValueError("not a workload: the first JSON text must be the header "
                             '{"xsdump_lu_workload": 1, ...}')
        header, steps = texts[0], texts[1:]
    if not isinstance(header, dict):
        raise ValueError(f"header: expected a JSON object, not {_shown(header)}")
    if not isinstance(steps, list):
        raise ValueError("not a workload: steps must be a list")
    guests = header.get("guests", [1, 2])
    if not isinstance(guests, list) or not all(_is_int(g) for g in guests) or len(guests) > MAX_GUESTS:
        raise ValueError(f"header: field guests must be a list of at most {MAX_GUESTS} domids, not {_shown(guests)}")
    if any(not 1 <= g < 0x7FF0 for g in guests):
        raise ValueError("header: field guests: guest domids must be between 1 and 32751")
    sockets = header.get("sockets", 2)
    if not _is_int(sockets) or not 1 <= sockets <= MAX_SOCKETS:
        raise ValueError(f"header: field sockets must be an integer from 1 (s0 introduces the guests) to "
                         f"{MAX_SOCKETS}, not {_shown(sockets)}")
    seed = header.get("seed")
    if seed is not None and not _is_int(seed):
        raise ValueError(f"header: field seed must be an integer, not {_shown(seed)}")
    workload = Workload(tuple(Step.from_json(s, f"step {i}") for i, s in enumerate(steps, 1)),
                        sockets=sockets, guests=tuple(guests), seed=seed)
    known = set(workload.connections())
    for n, s in enumerate(workload.steps, 1):
        if s.op == "introduce":
            known.add(f"g{s.domid}")       # the guest's ring, once introduced
        if s.op != "update" and s.conn not in known:
            raise ValueError(f"step {n} ({s.op}): field conn: no connection "
                             f"{_shown(s.conn)} (have {', '.join(sorted(known))})")
    return workload


def load(path: Path) -> Workload:
    """The workload in a file; anything wrong with it is one ValueError
    naming the file, the step and the field (or the line of bad JSON)."""
    from xsdump.codec.jsontexts import JSONTextError, json_texts

    with open(path, "rb") as f:
        try:
            return parse(obj for obj, _line in json_texts(f))
        except JSONTextError as e:
            raise ValueError(f"{path}: line {e.line}: {e}") from None
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


# --- the seeded generator -----------------------------------------------------------


def _paths(rng: random.Random) -> str:
    depth = rng.choice((1, 1, 2, 2, 3))
    return ROOT + "".join("/" + rng.choice(NAMES) for _ in range(depth))


def _value(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        return b""
    if roll < 0.2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
    if roll < 0.23:
        # up to and past the protocol's limit: ring wrap, quota, E2BIG
        return bytes(rng.randrange(0x20, 0x7F) for _ in range(rng.randrange(900, PAYLOAD_MAX + 64)))
    return str(rng.randrange(1000)).encode()


class _Generator:
    """Chooses steps one at a time, keeping what is open (transactions,
    watches) so that the steps are mostly meaningful."""

    def __init__(self, rng: random.Random, conns: list, guests: tuple):
        self.rng = rng
        self.conns = conns
        self.guests = guests
        self.open_tx: dict = {}       # tx name -> conn
        self.watches: list = []       # (conn, path, token)
        self.tx_count = 0
        self.token_count = 0
        self.transient: list = []     # introduced guests that come and go

    def _comings_and_goings(self) -> Optional[Step]:
        """Now and then a guest introduced or released, from dom0's first socket."""
        rng = self.rng
        roll = rng.random()
        absent = [d for d in TRANSIENT_DOMIDS if d not in self.transient]
        if roll < 0.015 and absent:
            domid = rng.choice(absent)
            self.transient.append(domid)
            return Step("introduce", "s0", domid=domid)
        if roll < 0.025 and self.transient:
            domid = rng.choice(self.transient)
            conn = f"g{domid}"
            if any(c == conn for c in self.open_tx.values()):
                return None
            self.transient.remove(domid)
            self.watches = [w for w in self.watches if w[0] != conn]
            return Step("release", "s0", domid=domid)
        return None

    def _tx_for(self, conn: str) -> str:
        mine = [t for t, c in self.open_tx.items() if c == conn]
        return self.rng.choice(mine) if mine and self.rng.random() < 0.7 else ""

    def step(self) -> Step:
        rng = self.rng
        coming = self._comings_and_goings()
        if coming is not None:
            return coming
        conn = rng.choice(self.conns + [f"g{d}" for d in self.transient])
        roll = rng.random()
        mine = [t for t, c in self.open_tx.items() if c == conn]
        if roll < 0.10 and len(mine) < 2:
            self.tx_count += 1
            name = f"t{self.tx_count}"
            self.open_tx[name] = conn
            return Step("tx-start", conn, tx=name)
        if roll < 0.18 and mine:
            name = rng.choice(mine)
            del self.open_tx[name]
            return Step("tx-end", conn, tx=name, commit=rng.random() < 0.75)
        if roll < 0.24:
            self.token_count += 1
            token = f"w{self.token_count}"
            where = rng.random()
            if where < 0.1 and conn.startswith("s"):
                path = rng.choice(SPECIAL_WATCHES)
            else:
                path = _paths(rng) if where < 0.85 else ROOT
            self.watches.append((conn, path, token))
            return Step("watch", conn, path=path, token=token)
        if roll < 0.27 and any(w[0] == conn for w in self.watches):
            w = rng.choice([w for w in self.watches if w[0] == conn])
            self.watches.remove(w)
            return Step("unwatch", conn, path=w[1], token=w[2])
        if roll < 0.275:
            self.watches = [w for w in self.watches if w[0] != conn]
            return Step("reset-watches", conn)
        tx = self._tx_for(conn)
        path = _paths(rng)
        op = rng.choices(("read", "write", "mkdir", "rm", "directory", "get-perms", "set-perms"),
                         weights=(25, 35, 6, 10, 10, 6, 4))[0]
        if op == "write":
            return Step("write", conn, path=path, value=_value(rng), tx=tx)
        if op == "set-perms":
            owner = rng.choice((0,) + self.guests)
            others = sorted(set(rng.sample(self.guests, rng.randrange(len(self.guests) + 1))))
            perms = (f"n{owner}",) + tuple(f"{rng.choice('rwb')}{d}" for d in others)
            return Step("set-perms", conn, path=path, perms=perms, tx=tx)
        return Step(op, conn, path=path, tx=tx)


def _in_flight(rng: random.Random, sockets: int) -> tuple:
    """A write on a dom0 socket cut in two around an update: its first
    part before, the rest after (the daemon holds a partial request)."""
    conn = f"s{rng.randrange(sockets)}"
    path = _paths(rng)
    value = str(rng.randrange(1000)).encode()
    whole = 16 + len(path) + 1 + len(value)
    return (Step("send-partial", conn, path=path, value=value, split=rng.randrange(1, whole)),
            Step("finish", conn))


def generate(seed: int, operations: int = 200, updates: int = 2, sockets: int = 2,
             guests: tuple = (1, 2), open_tx_updates: int = 0, in_flight: float = 0.0) -> Workload:
    """``operations`` seeded steps over ``sockets`` dom0 sockets and the
    guests' rings, with ``updates`` live updates at seeded points (never
    first).  A daemon may refuse an update while transactions are open
    (C xenstored does without ``-F``), so before an update every open
    transaction is ended (committed or aborted, as seeded) -- except at
    ``open_tx_updates`` of the updates, seeded among them, which keep their
    transactions open across the update: the hard case, asked for.  At a
    share ``in_flight`` of the updates a dom0 socket has half a request
    sent when the update comes, the rest after it."""
    rng = random.Random(seed)
    conns = [f"s{i}" for i in range(sockets)] + [f"g{d}" for d in guests]
    gen = _Generator(rng, conns, tuple(guests))
    points = set(rng.sample(range(1, operations + 1), min(updates, operations))) if operations else set()
    keep_open = set(rng.sample(sorted(points), min(open_tx_updates, len(points))))
    steps = []
    for k in range(1, operations + 1):
        steps.append(gen.step())
        if k not in points:
            continue
        if k not in keep_open:
            for name, conn in sorted(gen.open_tx.items()):
                steps.append(Step("tx-end", conn, tx=name, commit=rng.random() < 0.75))
            gen.open_tx.clear()
        if in_flight and rng.random() < in_flight:
            first, rest = _in_flight(rng, sockets)
            steps += [first, Step("update"), rest]
        else:
            steps.append(Step("update"))
    meta = {"open_tx_updates": len(keep_open)} if keep_open else {}
    return Workload(tuple(steps), sockets=sockets, guests=tuple(guests), seed=seed, meta=meta)
