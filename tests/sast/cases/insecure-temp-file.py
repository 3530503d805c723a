import tempfile


def export(rows: bytes) -> str:
    # ruleid: insecure-temp-file
    name = tempfile.mktemp(suffix=".csv")
    # ruleid: insecure-temp-file
    with open("/tmp/positions.csv", "wb") as fh:
        fh.write(rows)
    # ok: insecure-temp-file
    with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
        tmp.write(rows)
    # ok: insecure-temp-file
    with open("reports/positions.csv", "wb") as fh:
        fh.write(rows)
    return name
