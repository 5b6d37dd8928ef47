"""Records flow as a stream: reading memory does not grow with the file."""

import subprocess
import sys
import tracemalloc

from xsdump.codec.reader import read_stream
from synthetic import host
from xsdump.codec.writer import write_stream
from xsdump.codec.policy import STRICT


CHUNK = 64 * 1024


def peak_reading(path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        n = sum(1 for _ in read_stream(path, chunk=CHUNK, policy=STRICT))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_memory_does_not_grow_with_the_file(tmp_path):
    small, large = tmp_path / "small.xsd", tmp_path / "large.xsd"
    with small.open("wb") as f:
        write_stream(host(150), f)
    with large.open("wb") as f:
        write_stream(host(600), f)
    assert large.stat().st_size > 3.9 * small.stat().st_size > 4.5 * 2**20
    n_small, peak_small = peak_reading(small)
    n_large, peak_large = peak_reading(large)
    assert n_large > 3.9 * n_small
    # Bounded by the read chunk and the permission cache, not by the file.
    assert peak_large < 2**20
    assert peak_large < 1.1 * peak_small


def test_json_streams_from_a_pipe(tmp_path):
    """NDJSON lines appear before the input has ended."""
    proc = subprocess.Popen([sys.executable, "-m", "xsdump", "json", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import threading

    data = b"".join(chunk for chunk in _encoded(host(200)))
    go_on = threading.Event()

    def feed():
        proc.stdin.write(data[: len(data) // 2])
        proc.stdin.flush()
        go_on.wait(60)
        proc.stdin.write(data[len(data) // 2:])
        proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    first = proc.stdout.readline()  # blocks forever if json waits for the end of its input
    assert first.startswith(b'{"type":"header"')
    go_on.set()
    rest = proc.stdout.read()
    feeder.join(60)
    assert proc.wait(timeout=60) == 0
    assert rest.rstrip().endswith(b'"type":"end","offset":%d,"size":8}' % (len(data) - 8))


def _encoded(items):
    from xsdump.codec.writer import encode_items
    return encode_items(items)
