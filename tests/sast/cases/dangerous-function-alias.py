import functools
import os
import pickle


def handle(x: str, blob: bytes, handlers: dict) -> None:
    run = os.system
    # ruleid: dangerous-function-alias
    run(x)
    e = eval
    # ruleid: dangerous-function-alias
    e(input())
    handlers["load"] = pickle.loads
    # ruleid: dangerous-function-alias
    handlers["load"](blob)
    # ruleid: dangerous-function-alias
    list(map(os.system, [x]))
    # ruleid: dangerous-function-alias
    functools.partial(eval, x)
    size = len
    # ok: dangerous-function-alias
    size(x)
    joiner = os.path.join
    # ok: dangerous-function-alias
    joiner(x, "a")
