"""Flip one byte of one node value in an ``xsdump json`` stream (standard
input to standard output): the first node under /lu with a value, its first
byte XOR 1.  Used by a misreading new binary in the lu-test tests."""
import base64
import json
import sys

done = False
for line in sys.stdin:
    obj = json.loads(line)
    value = obj.get("value")
    if not done and obj.get("type") == "node" and str(obj.get("path", "")).startswith("/lu/") and value:
        raw = base64.b64decode(value["base64"]) if isinstance(value, dict) else value.encode("utf-8")
        raw = bytes([raw[0] ^ 1]) + raw[1:]
        obj["value"] = {"base64": base64.b64encode(raw).decode()}
        done = True
    sys.stdout.write(json.dumps(obj) + "\n")
