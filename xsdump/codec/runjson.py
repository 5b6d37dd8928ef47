"""The JSON texts of runs of copies (:class:`~xsdump.model.records.CopyRun`)
without converting each copy: a reference record's JSON is made once, and
a copy's text is that JSON with the run's conn-id, tx-id and access and
its own offset put in.

The texts are byte for byte what :func:`~xsdump.codec.jsonio.ndjson_lines`
gives for the records the run stands for: the pieces are cut from the JSON
the record converter makes (:data:`~xsdump.codec.jsonio._TO_JSON`), in its
key order; a reference whose JSON does not have the shape cut here (the
fields a copy has of its own first, offset and size last) gives its copies'
texts whole, record by record.
"""

from __future__ import annotations

from itertools import islice
from typing import Callable, Iterator, Optional

import orjson

from xsdump.model.records import CopyRun, NodeData

# The fields a copy has of its own, in the converter's order after "type";
# then the reference's fields, then the copy's offset and its size.
_OWN = ("conn_id", "tx_id", "access")
_LAST = ("offset", "size")


class RunJSON:
    """The texts of the runs of one reader (one reference,
    :class:`~xsdump.codec.copies.Copies`), each reference record's pieces
    made when first needed."""

    def __init__(self, to_json: Callable[[NodeData], dict]) -> None:
        self.to_json = to_json
        self.source = None
        self.pieces: list[Optional[tuple[bytes, bytes, bytes]]] = []  # per reference record: type, middle, end

    def _piece(self, record: NodeData) -> Optional[tuple[bytes, bytes, bytes]]:
        obj = self.to_json(record)
        keys = list(obj)
        if keys[1:1 + len(_OWN)] != list(_OWN) or tuple(keys[-len(_LAST):]) != _LAST:
            return None
        middle = {k: obj[k] for k in keys[1 + len(_OWN):-len(_LAST)]}
        if not middle:
            return None
        return (orjson.dumps({keys[0]: obj[keys[0]]})[:-1],  # '{"type":"node"'
                orjson.dumps(middle)[1:-1],  # '"perms":[...],"path":...,"value":...'
                b',"size":%d}' % obj["size"])

    def chunks(self, run: CopyRun, start: bytes = b"", end: bytes = b"", batch: int = 512) -> Iterator[bytes]:
        """The JSON texts of the records of ``run``, each between ``start``
        and ``end``, ``batch`` texts to a chunk (a run may hold millions)."""
        texts = self.texts(run, start, end)
        while True:
            chunk = b"".join(islice(texts, batch))
            if not chunk:
                return
            yield chunk

    def texts(self, run: CopyRun, start: bytes = b"", end: bytes = b"") -> Iterator[bytes]:
        """The JSON text of each record of ``run``, between ``start`` and ``end``."""
        source = run.source
        if source is not self.source:
            self.source, self.pieces = source, []
        pieces = self.pieces
        for k in range(len(pieces), run.first + run.count):
            pieces.append(self._piece(source.record(k)))
        own = b',"conn_id":%d,"tx_id":%d,"access":%d,' % (run.conn_id, run.tx_id, run.access)
        ends = source.ends
        shift = run.offset - ends[run.first]
        dumps = orjson.dumps
        for k in range(run.first, run.first + run.count):
            piece = pieces[k]
            if piece is None:
                yield start + dumps(self.to_json(run.record(k - run.first))) + end
            else:
                yield b'%b%b%b%b,"offset":%d%b%b' % (start, piece[0], own, piece[1], ends[k] + shift, piece[2], end)
