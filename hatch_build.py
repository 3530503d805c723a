"""Hatchling build hook: compile the optional C hashing loop (ADR 0005).

``nebsign._speedups`` is built from ``nebsign/_speedups.c`` against the
OpenSSL libcrypto that Python's own hashlib uses. Where it cannot be built
(no C compiler, no OpenSSL headers) the package installs without it and
hashes trees with the pure-Python loop, the same results, slower; set
``NEBSIGN_REQUIRE_C=1`` to make that a build error instead, or
``NEBSIGN_NO_C=1`` to skip the extension.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "nebsign/_speedups.c"


def _compile(root: Path, out_dir: Path) -> Path:
    """Build the extension with setuptools' compiler driver; return the .so path."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    ext = Extension(
        "nebsign._speedups",
        [str(root / SOURCE)],
        libraries=["crypto"],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
    )
    dist = Distribution({"name": "nebsign", "ext_modules": [ext]})
    cmd = build_ext(dist)
    cmd.build_lib = str(out_dir / "lib")
    cmd.build_temp = str(out_dir / "tmp")
    cmd.ensure_finalized()
    cmd.run()
    return Path(cmd.get_ext_fullpath("nebsign._speedups"))


class SpeedupsBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("NEBSIGN_NO_C"):
            return
        root = Path(self.root)
        out_dir = self._out_dir = Path(tempfile.mkdtemp(prefix="nebsign-build-"))
        try:
            built = _compile(root, out_dir)
        except Exception as exc:
            if os.environ.get("NEBSIGN_REQUIRE_C"):
                raise
            self.app.display_warning(
                f"nebsign: C hashing loop not built ({exc}); trees hash with the "
                "pure-Python loop (same results, slower)"
            )
            shutil.rmtree(out_dir, ignore_errors=True)
            return
        if version == "editable":
            # An editable install imports nebsign/ from the source tree.
            # Copy beside it, then rename over it: a process that has the old library
            # mapped (a test run, a running agent) keeps its inode; copying onto the
            # same inode in place crashed such a process with SIGSEGV.
            target = root / "nebsign" / built.name
            fresh = target.with_name(f".{built.name}.{os.getpid()}.tmp")
            shutil.copyfile(built, fresh)
            os.replace(fresh, target)
            shutil.rmtree(out_dir, ignore_errors=True)
        else:
            build_data["force_include"][str(built)] = f"nebsign/{built.name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        out_dir = getattr(self, "_out_dir", None)
        if out_dir is not None:
            shutil.rmtree(out_dir, ignore_errors=True)
