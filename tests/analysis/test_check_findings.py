"""xsdump check as users triage: findings grouped by code with counts, line
and column for text dumps, a verdict per daemon reader that follows the
catalogue's consequences, and padding offsets where the padding starts."""

from __future__ import annotations

import orjson
from helpers import SAMPLES, run_cli

from xsdump.model.findings import CATALOGUE, CONSEQUENCE_ORDER, CONSEQUENCES
from xsdump.model.records import ConnectionData, DomainData, End, GlobalData, GlobalQuotaData, Header, Layout, NodeData, Perm, RingSpec
from xsdump.codec.writer import encode_stream

OWN0 = (Perm("n", 0, 0),)


def _json(result):
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_every_code_has_a_consequence_per_reader():
    assert set(CONSEQUENCES) == set(CATALOGUE)
    for entry in CATALOGUE.values():
        assert entry.c in CONSEQUENCE_ORDER or entry.c is None
        assert entry.ocaml in CONSEQUENCE_ORDER or entry.ocaml is None
        assert entry.c or entry.ocaml, entry.code


def test_text_output_groups_by_code_with_counts(tmp_path):
    records = [GlobalData(3, 4)] + [NodeData(0, 0, 0, OWN0, f"/a{i}/b", b"") for i in range(14)]
    f = tmp_path / "orphans.xsd"
    f.write_bytes(encode_stream([Header(2, 0), *records, End()]))
    r = run_cli("check", f)
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "orphan-node (error) \u00d7 14: " + CATALOGUE["orphan-node"].meaning in out
    assert out.count("\n      offset 0x") == 3 + 1  # three orphan-node instances, one owner-unknown
    assert "... and 11 more (-v lists them all)" in out
    verbose = run_cli("check", "-v", f).stdout.decode()
    assert verbose.count("orphan-node") == 14 and "\u00d7" not in verbose
    j = _json(run_cli("check", "--json", f))
    assert sum(o["kind"] == "finding" for o in j) == 14 + 1  # every finding, as before (and owner-unknown)
    assert j[-1]["codes"] == {"orphan-node": 14, "owner-unknown": 1}


def test_text_dump_findings_say_line_and_column(tmp_path):
    f = tmp_path / "d.db"
    f.write_bytes(b"$xenstored-dump-format\nglobal,-1\nstore,2f,6e30,\nstore,2f782e79,6e30,\n")
    out = run_cli("check", f).stdout.decode()
    assert "line 4 record 2 NODE_DATA" in out and "offset 0x" not in out
    finding = next(o for o in _json(run_cli("check", "--json", f)) if o["kind"] == "finding")
    assert (finding["code"], finding["offset"], finding["line"], finding["column"]) == ("text-path-refused", 48, 4, 1)
    # a CRLF line end: column of the bytes inside the line
    binary = _json(run_cli("check", "--json", SAMPLES / "host.xsd"))
    assert all(o["line"] is None for o in binary if o["kind"] == "finding")


def test_verdict_per_reader_and_exit_status(tmp_path):
    # a snapshot-style transaction dump: its transaction nodes come before their parents: refused, never "OK";
    # 4.17 and 4.20 read version 1 only (said, not counted)
    r = run_cli("check", SAMPLES / "host.xsd")
    out = r.stdout.decode()
    assert r.returncode == 1 and ": OK" not in out
    assert "C xenstored 4.21 (lu_read_state): refuses it (tx-node-orphan at offset 0x3f0" in out
    assert "C xenstored 4.17/4.20 (lu_read_state): refuses it (version-2-stream at offset 0x8) (said, not counted)" in out
    # misreads only: restored, exit 0, and said
    r = run_cli("check", SAMPLES / "host-notx.xsd")
    assert r.returncode == 0 and b"restores it misreading: 4 records (watch-ext-c-misread x4)" in r.stdout
    # the real C dump: restored as it is
    r = run_cli("check", SAMPLES / "real" / "c-xenstored-4.17.xsd")
    assert r.returncode == 0 and b"C xenstored 4.17/4.20/4.21 (lu_read_state): restores it\n" in r.stdout
    # a warning the C reader refuses: domain-unknown aborts the restore
    f = tmp_path / "dom.xsd"
    f.write_bytes(encode_stream([Header(2, 0), GlobalData(3, 4), DomainData(9, 0, (5,), ("nodes",)), End()]))
    r = run_cli("check", f)
    assert r.returncode == 1 and b"FAILED (0 errors, 1 warning)" in r.stdout
    assert b"refuses it (domain-unknown at offset 0x20 record 1 DOMAIN_DATA)" in r.stdout
    verdict = _json(run_cli("check", "--json", f))[-1]
    assert verdict["verdict"] == "failed" and verdict["readers"]["c"]["consequence"] == "refuses"
    assert verdict["readers"]["c"]["first_stop"]["code"] == "domain-unknown"
    # len-unpadded: the 4.21 C reader desynchronises and stops early
    f = tmp_path / "unpadded.xsd"
    f.write_bytes(encode_stream([Header(2, 0), GlobalData(3, 4),
                                 GlobalQuotaData(1, (5,), ("nodes",), layout=Layout(unpadded_len=True)), End()]))
    r = run_cli("check", f)
    assert r.returncode == 1 and b"stops early at offset 0x20" in r.stdout and b"silently dropping the rest" in r.stdout


def test_text_dump_verdicts_follow_oxenstored(tmp_path):
    # the real oxenstored dump: oxenstored restores it; C after convert would lose an ACL entry (said, not counted)
    r = run_cli("check", SAMPLES / "real" / "oxenstored-4.17.db")
    out = r.stdout.decode()
    assert r.returncode == 0 and "oxenstored 4.17/4.20 (DB.from_channel_f): restores it\n" in out
    assert "after xsdump convert: restores it misreading: 1 record (acl-domain-unknown x1) (said, not counted)" in out
    # a guest ring with mfn 0 (what convert writes for a binary ring): the connection is lost
    f = tmp_path / "mfn.db"
    f.write_bytes(b"$xenstored-dump-format\nglobal,-1\ndom,0,0,1\ndom,1,0,6\n")
    r = run_cli("check", f)
    codes = [o["code"] for o in _json(run_cli("check", "--json", f)) if o["kind"] == "finding"]
    assert codes.count("text-ring-mfn-zero") == 1  # dom0's mfn is ignored (Domains.create0)
    assert r.returncode == 1 and b"line 4" in r.stdout and b"text-ring-mfn-zero x1" in r.stdout
    # a CRLF header: oxenstored refuses the dump
    f.write_bytes(b"$xenstored-dump-format\r\nglobal,-1\r\n")
    r = run_cli("check", f)
    assert r.returncode == 1 and b"oxenstored 4.17/4.20 (DB.from_channel_f): refuses it (text-crlf at line 1)" in r.stdout


def test_padding_offset_is_where_the_padding_starts(tmp_path):
    records = [GlobalData(3, 4), ConnectionData(1, 0, 1, RingSpec(0), unique_id=0x100),
               DomainData(0, 1, (5,), ("nodes",), layout=Layout(extra=b"\0\xde\xad\0\0\0"))]
    data = encode_stream([Header(2, 0), *records, End()])
    f = tmp_path / "pad.xsd"
    f.write_bytes(data)
    found = next(o for o in _json(run_cli("check", "--json", f)) if o["code"] == "padding-uninitialised")
    start = data.index(b"\0\xde\xad\0\0\0")
    assert found["offset"] == start
    assert f"6 padding bytes at {start:#x} (00 de ad 00 00 00; the first non-zero, 0xde, at {start + 1:#x})" \
        in found["message"]
