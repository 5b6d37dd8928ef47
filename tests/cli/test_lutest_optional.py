"""xsdump.lutest is an optional part (``pip install 'xsdump[daemons]'``):
reading a dump, and every command that only reads, never imports it."""

import subprocess
import sys

from helpers import ROOT, SAMPLES

PROBE = """
import io, sys
import xsdump.codec.dump, xsdump.fold.state, xsdump.analysis.check
from xsdump.cli import run
from xsdump.cli.env import Environment

host, text = sys.argv[1], sys.argv[2]
for argv in (["show", host], ["records", host, "-v"], ["json", host], ["check", host], ["amplification", host],
             ["domains", host], ["diff", host, text, "-e"], ["convert", host, "--to", "oxenstored", "--allow-loss"],
             ["show", text], ["--help"]):
    run(argv, Environment(stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO(), environ={}))
print(sorted(m for m in sys.modules if m.startswith("xsdump.lutest")))
"""


def test_reading_commands_never_import_lutest():
    out = subprocess.run([sys.executable, "-c", PROBE, str(SAMPLES / "host.xsd"), str(SAMPLES / "host.db")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
