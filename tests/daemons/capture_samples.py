"""Capture real live-update dumps of the scenario into samples/real/.

    python tests/daemons/capture_samples.py [--out DIR]

Runs scenario.run() on Debian's C xenstored and OCaml oxenstored of every
release xsdump knows (4.17 of bookworm, 4.20 of trixie), live-updates each
once and writes what the old process handed over:

    c-xenstored-<xen>.xsd   the C daemon's binary migration stream
    oxenstored-<xen>.db     the OCaml daemon's $xenstored-dump-format text
    README.md               one line per file: content, Debian version, command

The scenario is deterministic, but a few fields are not: the OCaml dump's
/tool/xenstored holds the daemon's own path (inside the package cache dir).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from xsdump.lutest import debian, harness  # noqa: E402
import scenario  # noqa: E402

REPO = HERE.parent.parent
COMMAND = "python tests/daemons/capture_samples.py"
FILES = {
    "c": ("c-xenstored-{xen}.xsd",
          "C xenstored live-update stream (version 1, little-endian) of the "
          "tests/daemons/scenario.py state: dom0 + guests 1 and 5 (ring "
          "connections with watches), 3 socket connections (one with a pending "
          "partial WRITE, one holding the live-update `OK` reply), nodes with "
          "NUL/non-UTF-8 values and ACLs, one stale ACL entry (flags=1)"),
    "ocaml": ("oxenstored-{xen}.db",
              "oxenstored `$xenstored-dump-format` text dump of the same scenario "
              "(no partial request: the format has no pending data; /tool/xenstored "
              "holds the daemon's own path on the capturing machine)"),
}


def capture(binaries: debian.Binaries, kind: str, out: Path) -> Path:
    with harness.make_daemon(kind, binaries) as d:
        scenario.run(d)
        dump = d.live_update()
    path = out / FILES[kind][0].format(xen=binaries.release.xen)
    path.write_bytes(dump)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "samples" / "real")
    args = ap.parse_args()
    try:
        releases = [debian.ensure(r) for r in debian.RELEASES]
    except debian.SetupError as e:
        print(f"cannot run the real daemons: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# Real daemon dumps", "",
             "Captured from Debian's prebuilt daemons (run without Xen under the "
             "test harness's LD_PRELOAD fake, see tests/daemons/). Do not edit by hand.", ""]
    for b in releases:
        for kind in ("c", "ocaml"):
            path = capture(b, kind, args.out)
            what = FILES[kind][1]
            lines.append(f"- `{path.name}` ({path.stat().st_size} bytes): {what}; "
                         f"Debian {b.release.main_package} {b.version} ({b.release.codename}); "
                         f"regenerate with `{COMMAND}`.")
            print(f"wrote {path} ({path.stat().st_size} bytes)")
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
