"""The watch record upstream C xenstored really writes (the contract).

``tools/xenstored/watch.c`` ``dump_state_watches`` writes a watch with a depth
as type WATCH_DATA_EXTENDED (8) with ``len = ROUNDUP(sizeof(struct
xs_state_watch_ext) + path_len + token_len, 8)`` (sizeof is 12), but only the
8-byte head of a WATCH_DATA body (``fwrite(&swe, sizeof(sw), ...)``): the
strings start at offset 8, there is no depth, and when ``(path_len +
token_len) % 8`` is 0, 5, 6 or 7 the ``len`` counts 8 bytes that were never
written (it runs into the next record's header).  The streams here are built
by :mod:`upstream_writer`, an oracle independent of xsdump's own writer.

Every reading command must read such a stream (exit 0) and show the watch's
real path and token; ``check`` names ``watch-ext-no-depth`` (and
``watch-ext-len-overrun`` exactly when ``len`` overruns); ``json | encode``
gives the stream back byte for byte; ``show --strict`` refuses it with one
line naming the code.

All 32 combinations (8 residues x versions 1, 2 x both byte orders) go
through records, json, encode, check and show in-process (xsdump.cli.run
on the real command-line app); one case per residue (versions and byte
orders rotating) goes through every reading command in-process; two cases
(one that overruns, one that does not) go through every command as a user
runs it (``python -m xsdump`` subprocesses), to keep the file fast.
"""

from __future__ import annotations

import re
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest

import upstream_writer as uw
from helpers import run_cli, run_in_process

WPATH = b"/local/domain/7/data"
NODE_PATHS = [p.decode() for p, _ in uw.NODES]
LAST_VALUE = uw.NODES[-1][1].decode()
CODE = "watch-ext-no-depth"
OVERRUN = "watch-ext-len-overrun"

CASES = [(v, o, r) for v in (1, 2) for o in ("little", "big") for r in range(8)]
# One case per residue through every reading command, versions and byte orders rotating.
EVERY_COMMAND = [(1 + (r // 2) % 2, ("little", "big")[r % 2], r) for r in range(8)]
# Two cases (one that does not overrun, one that does) as a user runs them.
SUBPROCESS = [(2, "little", 1), (1, "big", 6)]


def case_id(case) -> str:
    v, o, r = case
    return f"v{v}-{o}-r{r}"


def token_of(residue: int) -> bytes:
    return uw.token_for_residue(residue, WPATH, b"tok-")


def other_token(residue: int) -> bytes:
    """The same length (so the same residue), one character different."""
    t = token_of(residue)
    return t[:-1] + (b"Z" if t[-1:] != b"Z" else b"Y")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """Every case's stream written once: (v, o, r) -> (F, G), G differing
    only in the watch token."""
    d = tmp_path_factory.mktemp("dialects")
    out = {}
    for v, o, r in CASES:
        f, g = d / f"{case_id((v, o, r))}.xsd", d / f"{case_id((v, o, r))}-other-token.xsd"
        f.write_bytes(uw.build_stream(version=v, order=o, wpath=WPATH, token=token_of(r)))
        g.write_bytes(uw.build_stream(version=v, order=o, wpath=WPATH, token=other_token(r)))
        out[(v, o, r)] = (f, g)
    return out




def cli(*args, input=None):
    """The command-line app in-process: (exit code, stdout bytes, stderr text)."""
    return run_in_process(*args, input=input)


def ndjson(stdout: bytes) -> list[dict]:
    return [orjson.loads(line) for line in stdout.splitlines() if line.strip()]


def check_codes(stdout: bytes) -> list[str]:
    return [o["code"] for o in ndjson(stdout) if o.get("kind") == "finding"]


def watch_records(objs: list[dict]) -> list[dict]:
    return [o for o in objs if o.get("type") in ("watch", "watch_extended")]


# --- the oracle itself ---------------------------------------------------------------


def test_residue_tokens_and_overrun_residues():
    for r in range(8):
        p, t = len(WPATH) + 1, len(token_of(r)) + 1
        assert (p + t) % 8 == r and len(other_token(r)) == len(token_of(r))
        assert uw.overruns(p, t) == (r in (0, 5, 6, 7))
        assert uw.watch_ext_len(p, t) == uw.roundup(12 + p + t)
        assert uw.watch_ext_written(p, t) == uw.roundup(8 + p + t)


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("residue", range(8))
def test_oracle_writes_what_dump_state_watches_writes(order, residue):
    """The watch record: type 8, len from sizeof(swe) == 12, 8-byte head,
    strings at offset 8, zero alignment; the next record starts aligned."""
    e = "<" if order == "little" else ">"
    token = token_of(residue)
    s = uw.UpstreamStream(2, order)
    s.global_data()
    s.socket_connection(3, 9)
    w = s.watch_with_depth(3, WPATH, token, depth=5)
    nxt = s.node(b"/")
    data = s.data()
    p, t = len(WPATH) + 1, len(token) + 1
    assert data[:16] == b"xenstore" + struct.pack(">II", 2, order == "big")
    assert struct.unpack_from(e + "II", data, w.offset) == (8, uw.roundup(12 + p + t))
    assert struct.unpack_from(e + "IHH", data, w.offset + 8) == (3, p, t)
    body = data[w.offset + 8: nxt.offset]
    assert body[8:8 + p + t] == WPATH + b"\0" + token + b"\0"
    assert body[8 + p + t:] == bytes(len(body) - 8 - p - t) and len(body) == uw.roundup(8 + p + t)
    assert nxt.offset % 8 == 0 and w.size == 8 + len(body)
    assert (w.length - len(body)) == (8 if residue in (0, 5, 6, 7) else 0)


def test_oracle_agrees_with_the_c_writer_of_test_check():
    from analysis.test_check import c_writer_watch_ext

    for r in range(8):
        s = uw.UpstreamStream(2, "little")
        start = s.tell()
        s.watch_with_depth(2, WPATH, token_of(r))
        assert s.data()[start:] == c_writer_watch_ext(2, WPATH, token_of(r))


@pytest.mark.parametrize("order", ["little", "big"])
def test_oracle_plain_records_are_what_xsdump_reads(order, tmp_path):
    """Without the dialect (a plain WATCH_DATA), the oracle's stream is one
    xsdump reads without errors and writes back identically: its other
    records are right."""
    s = uw.UpstreamStream(2, order)
    s.global_data()
    s.ring_connection(1, 0)
    s.watch(1, WPATH, b"tok")
    for path, value in uw.NODES:
        s.node(path, value)
    s.end()
    f = tmp_path / "plain.xsd"
    f.write_bytes(s.data())
    code, out, _ = cli("check", "--json", f)
    errors = [o for o in ndjson(out) if o.get("kind") == "finding" and o["severity"] == "error"]
    assert code == 0 and errors == []
    code, out, _ = cli("json", f)
    assert code == 0
    code, _, _ = cli("encode", "-", "-o", tmp_path / "back.xsd", input=out)
    assert code == 0 and (tmp_path / "back.xsd").read_bytes() == s.data()


# --- all 32 cases: records, json, encode, check, show -------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_residue_version_and_byte_order(case, files, tmp_path):
    v, o, r = case
    f, _ = files[case]
    wpath, token = WPATH.decode(), token_of(r).decode()

    code, out, err = cli("records", f)
    assert code == 0, err
    assert wpath in out.decode() and token in out.decode()
    assert all(p in out.decode() for p in NODE_PATHS[1:])

    code, out, err = cli("json", f)
    assert code == 0, err
    objs = ndjson(out)
    watches = watch_records(objs)
    assert [(w["wpath"], w["token"]) for w in watches] == [(wpath, token)]
    w = watches[0]
    assert w["type"] == "watch" or (w["type"] == "watch_extended" and w["depth"] is None), w
    assert CODE in orjson.dumps(w).decode(), f"the record does not carry {CODE}: {w}"
    assert [x["path"] for x in objs if x.get("type") == "node"] == NODE_PATHS
    assert not [x for x in objs if x.get("type") == "damaged"]
    assert objs[-1]["type"] == "end"

    back = tmp_path / "back.xsd"
    code, _, err = cli("encode", "-", "-o", back, input=out)
    assert code == 0, err
    assert back.read_bytes() == f.read_bytes()

    code, out, err = cli("check", "--json", f)
    assert code == 1, (out, err)
    codes = check_codes(out)
    assert CODE in codes
    assert (OVERRUN in codes) == (r in uw.OVERRUN_RESIDUES), codes

    code, out, err = cli("show", "--format", "plain", f)
    assert code == 0, err
    text = out.decode()
    assert wpath in text and token in text
    assert CODE in text, "show does not name the dialect among its anomalies"
    assert LAST_VALUE in text and re.search(r"^\s*local\b", text, re.M), "the nodes after the watch are missing"


# --- one case per residue: every reading command ---------------------------------------


@pytest.mark.parametrize("case", EVERY_COMMAND, ids=case_id)
def test_every_reading_command(case, files, tmp_path):
    v, o, r = case
    f, g = files[case]
    wpath, token = WPATH.decode(), token_of(r).decode()

    code, out, err = cli("show", "--json", f)
    assert code == 0, err
    summary = orjson.loads(out)["summary"]
    shown = [w for c in summary["connections"] for w in c["watches"]] + summary["stray_watches"]
    assert [(w["wpath"], w["token"]) for w in shown] == [(wpath, token)]
    kinds = {a.get("code", a.get("kind")) for a in summary["anomalies"]}
    assert CODE in kinds, summary["anomalies"]
    assert (OVERRUN in kinds) == (r in uw.OVERRUN_RESIDUES), summary["anomalies"]

    code, out, err = cli("amplification", f)
    assert code == 0, err

    code, out, err = cli("convert", f, "--to", "json")
    assert code == 0, err
    assert wpath in out.decode() and token in out.decode()

    conv = tmp_path / "converted.xsd"
    code, out, err = cli("convert", f, "--to", "binary", "-o", conv)
    assert code == 0, err
    code, out, err = cli("show", "--format", "plain", conv)
    assert code == 0, err
    assert wpath in out.decode() and token in out.decode() and LAST_VALUE in out.decode()

    code, out, err = cli("diff", f, f)
    assert code == 0, (out, err)
    code, out, err = cli("diff", f, g)
    assert code == 1, (out, err)
    assert other_token(r).decode() in out.decode()

    code, out, err = cli("show", "--strict", f)
    assert code == 2
    assert CODE in err and "Traceback" not in err


def test_several_watches_back_to_back(tmp_path):
    """Watches of every residue one after another (each ``len`` that
    overruns runs into the next watch's header), on two connections, with a
    plain watch between them."""
    s = uw.UpstreamStream(2, "big")
    s.global_data()
    s.ring_connection(1, 7)
    expected = []
    for r in range(8):
        s.watch_with_depth(1, WPATH, token_of(r))
        expected.append((WPATH.decode(), token_of(r).decode()))
    s.watch(1, b"/plain", b"p")
    expected.append(("/plain", "p"))
    s.socket_connection(2, 9)
    for r in (5, 0):
        s.watch_with_depth(2, b"@releaseDomain", token_of(r))
        expected.append(("@releaseDomain", token_of(r).decode()))
    for path, value in uw.NODES:
        s.node(path, value)
    s.end()
    f = tmp_path / "many.xsd"
    f.write_bytes(s.data())

    code, out, err = cli("json", f)
    assert code == 0, err
    objs = ndjson(out)
    assert [(w["wpath"], w["token"]) for w in watch_records(objs)] == expected
    assert [x["path"] for x in objs if x.get("type") == "node"] == NODE_PATHS
    code, _, err = cli("encode", "-", "-o", tmp_path / "back.xsd", input=out)
    assert code == 0 and (tmp_path / "back.xsd").read_bytes() == s.data()

    code, out, _ = cli("check", "--json", f)
    codes = check_codes(out)
    dialect = [(p, t) for p, t in expected if p != "/plain"]
    assert codes.count(CODE) == len(dialect) == 10
    assert codes.count(OVERRUN) == sum(uw.overruns(len(p) + 1, len(t) + 1) for p, t in dialect)

    code, out, err = cli("show", "--format", "plain", f)
    assert code == 0, err
    assert all(t in out.decode() for _, t in expected)


# --- as a user runs it --------------------------------------------------------------------


def _parallel(calls):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda c: run_cli(*c[0], **c[1]), calls))


@pytest.mark.parametrize("case", SUBPROCESS, ids=case_id)
def test_every_command_as_a_user_runs_it(case, files, tmp_path):
    v, o, r = case
    f, g = files[case]
    wpath, token = WPATH.decode(), token_of(r).decode()
    conv = tmp_path / "converted.xsd"
    names = ["show", "records", "json", "amplification", "convert-json", "convert-binary", "diff-same",
             "diff-other", "check", "strict"]
    calls = [
        (("show", f), {}),
        (("records", f), {}),
        (("json", f), {}),
        (("amplification", f), {}),
        (("convert", f, "--to", "json"), {}),
        (("convert", f, "--to", "binary", "-o", conv), {}),
        (("diff", f, f), {}),
        (("diff", f, g), {}),
        (("check", f), {}),
        (("show", "--strict", f), {}),
    ]
    res = dict(zip(names, _parallel(calls)))
    for name in ("show", "records", "json", "amplification", "convert-json", "convert-binary", "diff-same"):
        assert res[name].returncode == 0, (name, res[name].stderr.decode())
    for name in ("show", "records", "json", "convert-json"):
        text = res[name].stdout.decode()
        assert wpath in text and token in text, name
    assert CODE in res["show"].stdout.decode()
    assert NODE_PATHS[-1].rsplit("/", 1)[1] in res["show"].stdout.decode() and LAST_VALUE in res["show"].stdout.decode()
    assert res["diff-other"].returncode == 1, res["diff-other"].stderr.decode()
    assert res["check"].returncode == 1
    check_out = res["check"].stdout.decode()
    assert CODE in check_out and (OVERRUN in check_out) == (r in uw.OVERRUN_RESIDUES)

    strict = res["strict"]
    assert strict.returncode == 2
    lines = strict.stderr.decode().splitlines()
    assert len(lines) == 1 and CODE in lines[0], lines
    assert b"Traceback" not in strict.stderr

    # json | encode, through a pipe
    back = tmp_path / "back.xsd"
    enc = run_cli("encode", "-", "-o", back, input=res["json"].stdout)
    assert enc.returncode == 0, enc.stderr.decode()
    assert back.read_bytes() == Path(f).read_bytes()
