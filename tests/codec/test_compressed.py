"""Compressed dumps (gzip, xz, zstd) are recognised by their magic bytes and
read like the plain stream, from a path or standard input."""

import gzip
import lzma

import pytest
import zstandard

from helpers import SAMPLES, run_cli

COMPRESS = {"gzip": gzip.compress, "xz": lzma.compress, "zstd": lambda data: zstandard.ZstdCompressor().compress(data)}


@pytest.fixture(params=sorted(COMPRESS))
def packed(request, tmp_path):
    plain = (SAMPLES / "host.xsd").read_bytes()
    path = tmp_path / f"host.xsd.{request.param}"
    path.write_bytes(COMPRESS[request.param](plain))
    return request.param, path, plain


def test_every_command_reads_a_compressed_dump(packed, tmp_path):
    kind, path, plain = packed
    out = run_cli("json", path)
    assert out.returncode == 0, out.stderr
    back = run_cli("encode", "-", input=out.stdout)
    assert back.returncode == 0 and back.stdout == plain
    for argv in (["show", path], ["records", path], ["check", path], ["amplification", path],
                 ["diff", path, SAMPLES / "host.xsd"], ["convert", path, "--to", "json"]):
        result = run_cli(*argv)
        assert result.returncode in (0, 1) and b"Traceback" not in result.stderr, (argv, result.stderr)
    assert run_cli("diff", path, SAMPLES / "host.xsd").returncode == 0  # the same state


def test_standard_input_too(packed):
    kind, path, plain = packed
    shown = run_cli("show", "-", input=path.read_bytes())
    assert shown.returncode == 0 and shown.stdout == run_cli("show", SAMPLES / "host.xsd").stdout.replace(
        str(SAMPLES / "host.xsd").encode(), b"<stdin>")
    assert run_cli("amplification", "-", input=path.read_bytes()).returncode == 0  # read twice: spooled


def test_truncated_compressed_data_is_one_clean_error(packed, tmp_path):
    kind, path, plain = packed
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    result = run_cli("show", cut)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"xsdump: {cut}") and kind in lines[0]
