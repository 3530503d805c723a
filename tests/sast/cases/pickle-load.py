import json
import marshal
import pickle


def load_snapshot(blob: bytes, fh):
    # ruleid: pickle-load
    book = pickle.loads(blob)
    # ruleid: pickle-load
    state = pickle.load(fh)
    # ruleid: pickle-load
    code = marshal.loads(blob)
    # ok: pickle-load
    data = json.loads(blob)
    # ok: pickle-load
    raw = pickle.dumps(data)
    return book, state, code, raw
