"""A dump filter for the injected-divergence tests: NDJSON of ``xsdump json``
in, the same out, with the value of every committed node at or below PATH
replaced.

    xsdump json - | python inject_value.py /lu/a INJECTED | xsdump encode -
"""
import json
import sys

path, value = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    record = json.loads(line)
    name = str(record.get("path", ""))
    if record.get("type") == "node" and not record.get("tx_id") and (name == path or name.startswith(path + "/")):
        record["value"] = value
    sys.stdout.write(json.dumps(record) + "\n")
