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


def private_loaders(blob: bytes, fh, path: str):
    import numpy

    # ruleid: pickle-load
    a = pickle._loads(blob)
    # ruleid: pickle-load
    b = pickle._Unpickler(fh).load()
    # ruleid: pickle-load
    c = numpy.load(path, allow_pickle=True)
    # ok: pickle-load
    d = numpy.load(path)
    return a, b, c, d
