"""Coverage-guided fuzz target for xsdump (atheris / libFuzzer).

Run (from the repository root; ``pip install atheris`` first)::

    python tests/fuzz/atheris_target.py -max_total_time=600 -rss_limit_mb=2048 -timeout=10 \
        -max_len=4096 tests/fuzz/work tests/corpus samples

(libFuzzer writes the inputs it finds into the first directory only: keep
``tests/fuzz/work`` first; it is not committed)
or ``python tests/fuzz/run_fuzz.py --minutes 10`` (sets up the work corpus
from ``tests/corpus`` and ``samples``, runs, reports the execution figures
and copies every crash into ``tests/fuzz/crashes/``).

Each input goes through ``read_dump`` under every policy (strict, default,
lenient; reference and compiled JSON decoders), ``json | encode`` (must be
byte-exact whenever ``json`` succeeds), the ``check`` scanner and fold, and
``encode``'s JSON reader.  The target raises only on a real bug: an
exception other than :class:`xsdump.errors.DumpError` /
:class:`xsdump.errors.EncodeError`, or a lossless round trip that is not.
A crash input is replayed with ``python tests/fuzz/atheris_target.py CRASHFILE``;
turn it into a regression case under ``tests/corpus/`` (see
``tests/corpus/make_corpus.py``).
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/: ``fuzz.harness``

try:
    import atheris
except ImportError:  # pragma: no cover - CI does not need atheris
    atheris = None


def _instrumented_imports():
    if atheris is None:
        from fuzz.harness import library_check
        return library_check
    with atheris.instrument_imports(include=["xsdump", "fuzz"]):
        import xsdump.analysis.check  # noqa: F401
        import xsdump.codec.dump  # noqa: F401
        import xsdump.codec.jsonio  # noqa: F401
        import xsdump.codec.oxenstored  # noqa: F401
        import xsdump.codec.reader  # noqa: F401
        import xsdump.codec.textwriter  # noqa: F401
        import xsdump.codec.writer  # noqa: F401
        from fuzz.harness import library_check
    return library_check


def test_one_input(data: bytes) -> None:
    # FuzzBug (an AssertionError) and any unexpected exception propagate:
    # libFuzzer records the input as a crash.
    _CHECK(data)


_CHECK = None


def main(argv=None) -> None:
    global _CHECK
    argv = list(sys.argv if argv is None else argv)
    if atheris is None:
        # Replay mode without atheris: run the given files through the target.
        from fuzz.harness import library_check
        _CHECK = library_check
        files = [a for a in argv[1:] if not a.startswith("-") and os.path.isfile(a)]
        if not files:
            sys.exit("atheris is not installed (pip install atheris); give files to replay them")
        for path in files:
            with open(path, "rb") as f:
                test_one_input(f.read())
            print(f"{path}: ok")
        return
    _CHECK = _instrumented_imports()
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
