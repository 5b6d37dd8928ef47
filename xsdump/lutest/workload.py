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
``watch``, ``unwatch`` (``path``, ``token``), ``tx-start``, ``tx-end``
(``commit``), and ``update``: the live update (of the instance under test
only).
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
       "tx-start", "tx-end", "update")
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

    def to_json(self) -> dict:
        out: dict = {"op": self.op}
        if self.conn:
            out["conn"] = self.conn
        if self.tx:
            out["tx"] = self.tx
        if self.path:
            out["path"] = self.path
        if self.op == "write":
            out["value"] = _value_json(self.value)
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
                   token=_text_field(obj, "token", where), perms=tuple(perms), commit=commit)

    def describe(self) -> str:
        """One line, for reports (the value escaped by the caller's renderer)."""
        parts = [self.conn or "-", self.op]
        if self.tx:
            parts.append(f"[{self.tx}]")
        if self.path:
            parts.append(self.path)
        if self.op == "write":
            parts.append("= " + repr(self.value)[1:])
        if self.token:
            parts.append(f"token {self.token}")
        if self.op == "set-perms":
            parts.append(",".join(self.perms))
        if self.op == "tx-end":
            parts.append("commit" if self.commit else "abort")
        return " ".join(parts)


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
    for s in workload.steps:
        if s.op != "update" and s.conn not in known:
            raise ValueError(f"step {workload.steps.index(s) + 1} ({s.op}): field conn: no connection "
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

    def _tx_for(self, conn: str) -> str:
        mine = [t for t, c in self.open_tx.items() if c == conn]
        return self.rng.choice(mine) if mine and self.rng.random() < 0.7 else ""

    def step(self) -> Step:
        rng = self.rng
        conn = rng.choice(self.conns)
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
            path = _paths(rng) if rng.random() < 0.8 else ROOT
            self.watches.append((conn, path, token))
            return Step("watch", conn, path=path, token=token)
        if roll < 0.27 and any(w[0] == conn for w in self.watches):
            w = rng.choice([w for w in self.watches if w[0] == conn])
            self.watches.remove(w)
            return Step("unwatch", conn, path=w[1], token=w[2])
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


def generate(seed: int, operations: int = 200, updates: int = 2, sockets: int = 2,
             guests: tuple = (1, 2)) -> Workload:
    """``operations`` seeded steps over ``sockets`` dom0 sockets and the
    guests' rings, with ``updates`` live updates at seeded points (never
    first; transactions are often open across them)."""
    rng = random.Random(seed)
    conns = [f"s{i}" for i in range(sockets)] + [f"g{d}" for d in guests]
    gen = _Generator(rng, conns, tuple(guests))
    steps = [gen.step() for _ in range(operations)]
    points = sorted(rng.sample(range(1, operations + 1), min(updates, operations))) if operations else []
    for offset, point in enumerate(points):
        steps.insert(point + offset, Step("update"))
    return Workload(tuple(steps), sockets=sockets, guests=tuple(guests), seed=seed)
