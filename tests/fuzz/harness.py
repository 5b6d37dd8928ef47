"""The properties every fuzz target checks on one input, in-process.

:func:`library_check` is the one oracle shared by the hypothesis harness
(``tests/codec/test_fuzz.py``) and the coverage-guided atheris target
(``tests/fuzz/atheris_target.py``).  For one input it

- reads it with ``read_dump`` under every policy (``strict``, ``default``,
  ``lenient``), through the reference decoders and through the compiled
  JSON decoders ``json`` uses (``as_json``), and requires both to give the
  same JSON;
- requires ``json | encode`` to give the input back byte for byte whenever
  ``json`` succeeds (any policy);
- runs the ``check`` scanner and fold over it;
- parses it as ``encode``'s JSON input and, when that succeeds, writes it.

The only exceptions allowed out of the library are
:class:`~xsdump.errors.DumpError` and :class:`~xsdump.errors.EncodeError`;
anything else (and a round trip that is not byte-exact) is a bug, raised as
:class:`FuzzBug` with the cause chained.
"""

from __future__ import annotations

import io
from itertools import chain

from xsdump.errors import DumpError, EncodeError

from xsdump.codec.policy import DIALECTS, LENIENT, STRICT

POLICIES = {"strict": STRICT, "default": DIALECTS, "lenient": LENIENT}
IDENT = b"xenstore"


class FuzzBug(AssertionError):
    """A real bug: an unexpected exception, or a lossy round trip."""


def _quiet(_message) -> None:
    pass


def json_of(data: bytes, policy: str, *, as_json: bool = True) -> bytes:
    """What ``xsdump json [--strict|--lenient]`` prints for ``data``."""
    from xsdump.codec.dump import read_dump
    from xsdump.codec.jsonio import JSON_DECODERS, ndjson_lines

    return b"".join(ndjson_lines(read_dump(io.BytesIO(data), name="fuzz.xsd", policy=POLICIES[policy],
                                           warn=_quiet, decoders=JSON_DECODERS if as_json else None)))


def encode_json(js: bytes) -> bytes:
    """What ``xsdump encode`` writes for the JSON ``js``."""
    from xsdump.codec.jsonio import items_from_json
    from xsdump.codec.textwriter import text_chunks
    from xsdump.codec.writer import encode_items

    items = items_from_json(js)
    header = next(items, None)
    if header is None:  # no JSON text at all: what encode_items says of a stream without a header
        raise EncodeError("a stream starts with its header")
    write = text_chunks if header.source_format == "oxenstored" else encode_items
    return b"".join(write(chain([header], items)))


def check_findings(data: bytes) -> list:
    from xsdump.analysis.check import check_dump

    return list(check_dump(io.BytesIO(data), name="fuzz.xsd"))


def _guard(what: str, fn, *args):
    """``fn(*args)``; DumpError/EncodeError -> None; anything else -> FuzzBug."""
    try:
        return fn(*args)
    except (DumpError, EncodeError):
        return None
    except FuzzBug:
        raise
    except RecursionError as e:  # pragma: no cover - reported like any other bug
        raise FuzzBug(f"{what}: RecursionError") from e
    except Exception as e:  # noqa: BLE001 - this is the oracle
        raise FuzzBug(f"{what}: {type(e).__name__}: {e}") from e


def roundtrip(data: bytes, policy: str) -> bool:
    """``json`` under ``policy`` then ``encode``; True when json succeeded
    (and the round trip was byte-exact, else FuzzBug)."""
    fast = _guard(f"json --{policy}", json_of, data, policy)
    ref = _guard(f"read_dump --{policy} (reference decoders)", lambda: json_of(data, policy, as_json=False))
    if (fast is None) != (ref is None):
        raise FuzzBug(f"policy {policy}: the compiled JSON decoders and the reference decoders "
                      f"disagree on whether the input reads ({fast is not None} vs {ref is not None})")
    if fast is None:
        return False
    if fast != ref:
        raise FuzzBug(f"policy {policy}: compiled JSON decoders differ from the reference decoders")
    try:
        back = encode_json(fast)
    except (DumpError, EncodeError) as e:
        raise FuzzBug(f"policy {policy}: encode refused the JSON json wrote: {e}") from e
    except Exception as e:  # noqa: BLE001 - this is the oracle
        raise FuzzBug(f"encode (json --{policy}): {type(e).__name__}: {e}") from e
    from xsdump.codec.jsoninput import SNIFF, looks_like_json

    if looks_like_json(data[:SNIFF]):  # JSON input is read as the dump it encodes: that is what comes back
        data = encode_json(data)
    if back != data:
        at = next((i for i, (a, b) in enumerate(zip(back, data)) if a != b), min(len(back), len(data)))
        raise FuzzBug(f"policy {policy}: json | encode is not byte-exact: first difference at byte {at} "
                      f"({len(data)} B in, {len(back)} B out)")
    return True


def library_check(data: bytes) -> dict:
    """Every library property on ``data``; returns what happened (for stats)."""
    read = {policy: roundtrip(data, policy) for policy in POLICIES}
    if data.startswith(IDENT) and len(data) >= 16 and not read["lenient"]:
        raise FuzzBug("json --lenient refused a stream with a good magic and a whole header")
    findings = _guard("check", check_findings, data)
    if findings is None:
        raise FuzzBug("check raised a DumpError on an in-memory input")
    from xsdump.model.findings import CATALOGUE

    unknown = {f.code for f in findings} - set(CATALOGUE)
    if unknown:
        raise FuzzBug(f"check named codes outside the catalogue: {sorted(unknown)}")
    encoded = _guard("encode (the input as JSON)", encode_json, data)
    return {"read": read, "findings": len(findings), "json_input": encoded is not None}
