import builtins
import importlib
import os
import sys

# ruleid: indirect-dangerous-call
from subprocess import *  # noqa: F403


def run(x: str, plugin: str, obj: object) -> None:
    # ruleid: indirect-dangerous-call
    getattr(os, "sys" + "tem")(x)
    # ruleid: indirect-dangerous-call
    getattr(builtins, "eval")(x)
    # ruleid: indirect-dangerous-call
    __import__("os").system(x)
    # ruleid: indirect-dangerous-call
    importlib.import_module("os").system(x)
    # ruleid: indirect-dangerous-call
    sys.modules["subprocess"].getoutput(x)
    # ruleid: indirect-dangerous-call
    vars(builtins)["exec"](x)
    # ok: indirect-dangerous-call
    getattr(obj, "name", None)
    # ok: indirect-dangerous-call
    importlib.import_module(plugin)
    # ok: indirect-dangerous-call
    print(os.path.join(x, "a"))
    # ruleid: indirect-dangerous-call
    __import__(plugin).run(x)
    # ok: indirect-dangerous-call
    __import__("json").dumps(x)
