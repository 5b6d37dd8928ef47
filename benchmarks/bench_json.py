"""Whole-process speed of ``xsdump json`` against a minimal struct + orjson loop.

Generates the 1000-guest host dump (samples/synthetic.py), writes it to a
temporary file, then times as whole processes, stdout to /dev/null (best of
several runs):

- xsdump: ``python -m xsdump json FILE``;
- baseline: a Python script that frames the same file with
  ``struct.unpack_from`` and writes one orjson NDJSON line per record with
  the record's decoded fields (strings as text when printable UTF-8, else
  base64, as xsdump does) — about the least a JSON dumper must do.

Prints both times and the ratio xsdump/baseline (goal: <= 1.5), then the
start-up figures: ``python -c pass``, ``python -c 'import typer'``,
``xsdump --version`` and ``xsdump show samples/host.xsd`` (best of 10).
Speed goals are printed, never asserted.

Usage: python benchmarks/bench_json.py [GUESTS] [RUNS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import compileall
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "samples"))  # synthetic.py
from synthetic import host  # noqa: E402

from xsdump.codec.writer import encode_stream  # noqa: E402

BASELINE = r'''
import base64, struct, sys
import orjson

HDR = struct.Struct("<II").unpack_from
NODE = struct.Struct("<IIHHHH").unpack_from
PERM = struct.Struct("<BBH").unpack_from
U32X2 = struct.Struct("<II").unpack_from
I32X2 = struct.Struct("<ii").unpack_from
CONN = struct.Struct("<IHH8sHHI").unpack_from
RING = struct.Struct("<HHI").unpack_from
U64 = struct.Struct("<Q").unpack_from
WATCH = struct.Struct("<IHH").unpack_from
WATCHX = struct.Struct("<IHHH").unpack_from
DOMAIN = struct.Struct("<HHI").unpack_from
QUOTA = struct.Struct("<HH").unpack_from
dumps = orjson.dumps


def text(raw):
    try:
        s = raw.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}
    return s if s.isprintable() else {"base64": base64.b64encode(raw).decode()}


def names(buf, q, n):
    out = []
    for _ in range(n):
        e = buf.index(b"\0", q)
        out.append(buf[q:e].decode())
        q = e + 1
    return out


def main(path):
    with open(path, "rb") as f:
        buf = f.read()
    out = sys.stdout.buffer
    lines = [dumps({"type": "header", "version": U32X2(buf, 8)[1], "byte_order": "little",
                    "flags": U32X2(buf, 8)[0], "offset": 0, "size": 16}) + b"\n"]
    p = 16
    while True:
        t, length = HDR(buf, p)
        body = p + 8
        size = 8 + length + (-length & 7)
        if t == 5:
            conn, tx, path_len, value_len, access, perm_count = NODE(buf, body)
            q = body + 16
            perms = []
            for i in range(perm_count):
                perm, flags, domid = PERM(buf, q + 4 * i)
                perms.append({"perm": chr(perm), "flags": flags, "domid": domid})
            q += 4 * perm_count
            rec = {"type": "node", "conn_id": conn, "tx_id": tx, "access": access, "perms": perms,
                   "path": text(buf[q:q + path_len - 1]), "value": text(buf[q + path_len:q + path_len + value_len])}
        elif t == 3 or t == 8:
            if t == 3:
                conn, wl, tl = WATCH(buf, body)
                q = body + 8
                rec = {"type": "watch", "conn_id": conn}
            else:
                conn, wl, tl, depth = WATCHX(buf, body)
                q = body + 12
                rec = {"type": "watch_extended", "conn_id": conn}
            rec["wpath"] = text(buf[q:q + wl - 1])
            rec["token"] = text(buf[q + wl:q + wl + tl - 1])
            if t == 8:
                rec["depth"] = depth
        elif t == 2:
            conn, conn_type, fields, spec, in_len, resp_len, out_len = CONN(buf, body)
            rec = {"type": "connection", "conn_id": conn, "conn_type": "ring" if conn_type == 0 else "socket",
                   "fields": fields}
            if conn_type == 0:
                rec["domid"], rec["tdomid"], rec["evtchn"] = RING(spec)
            else:
                rec["socket_fd"] = I32X2(spec)[0]
            q = body + 24
            rec["out_resp_len"] = resp_len
            rec["in_data"] = text(buf[q:q + in_len])
            rec["out_data"] = text(buf[q + in_len:q + in_len + out_len])
            q += in_len + out_len
            q += -(in_len + out_len) & 7
            rec["unique_id"] = U64(buf, q)[0] if fields & 1 else None
        elif t == 7:
            domid, nq, features = DOMAIN(buf, body)
            values = list(struct.unpack_from(f"<{nq}I", buf, body + 8))
            rec = {"type": "domain", "domid": domid, "features": features, "values": values,
                   "names": names(buf, body + 8 + 4 * nq, nq)}
        elif t == 6:
            nd, ng = QUOTA(buf, body)
            values = list(struct.unpack_from(f"<{nd + ng}I", buf, body + 4))
            rec = {"type": "global_quota", "n_dom_quota": nd, "values": values,
                   "names": names(buf, body + 4 + 4 * (nd + ng), nd + ng)}
        elif t == 1:
            a, b = I32X2(buf, body)
            rec = {"type": "global", "rw_socket_fd": a, "evtchn_fd": b}
        elif t == 4:
            a, b = U32X2(buf, body)
            rec = {"type": "transaction", "conn_id": a, "tx_id": b}
        elif t == 0:
            rec = {"type": "end"}
        else:
            rec = {"type": t, "body": text(buf[body:body + length])}
        rec["offset"] = p
        rec["size"] = size
        lines.append(dumps(rec) + b"\n")
        if len(lines) >= 4096:
            out.write(b"".join(lines))
            lines.clear()
        p += size
        if t == 0:
            break
    out.write(b"".join(lines))


main(sys.argv[1])
'''


def best(argv: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    guests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    py = sys.executable
    data = encode_stream(host(guests))
    with tempfile.TemporaryDirectory(prefix="bench-json-") as tmp:
        dump = os.path.join(tmp, "host.xsd")
        script = os.path.join(tmp, "baseline.py")
        Path(dump).write_bytes(data)
        Path(script).write_text(BASELINE)
        # Both print one line per record (the header first).
        ours = subprocess.run([py, "-m", "xsdump", "json", dump], capture_output=True, check=True, env=env)
        theirs = subprocess.run([py, script, dump], capture_output=True, check=True, env=env)
        n = ours.stdout.count(b"\n")
        assert n == theirs.stdout.count(b"\n"), (n, theirs.stdout.count(b"\n"))
        # An installed xsdump has its bytecode compiled (pip does that); a
        # checkout run with PYTHONDONTWRITEBYTECODE would compile every module
        # on every run, which no user pays.
        compileall.compile_dir(str(ROOT / "xsdump"), quiet=1)
        # Interleaved, so that a busy moment of the machine hits both alike.
        t_ours, t_base = float("inf"), float("inf")
        for _ in range(runs):
            t_ours = min(t_ours, best([py, "-m", "xsdump", "json", dump], 1, env))
            t_base = min(t_base, best([py, script, dump], 1, env))
    print(f"dump: {guests} guests, {n} JSON lines, {len(data):,} bytes; best of {runs} runs, stdout to /dev/null")
    print(f"baseline struct + orjson script: {t_base * 1000:8.1f} ms")
    print(f"xsdump json FILE:                {t_ours * 1000:8.1f} ms")
    print(f"ratio xsdump/baseline: {t_ours / t_base:.2f}  (goal <= 1.50)")
    print()
    print("start-up, best of 10:")
    for label, argv in (("python -c pass", [py, "-c", "pass"]),
                        ("python -c 'import typer'", [py, "-c", "import typer"]),
                        ("xsdump --version", [py, "-m", "xsdump", "--version"]),
                        ("xsdump show samples/host.xsd", [py, "-m", "xsdump", "show", "samples/host.xsd"])):
        print(f"  {label:30} {best(argv, 10, env) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
