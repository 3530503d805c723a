"""The checked-in assets are exactly what the deterministic generator writes."""

from __future__ import annotations

from pathlib import Path

from signing.sigassets import GOLDEN, load_generator


def test_regenerate_gives_identical_bytes(tmp_path: Path) -> None:
    written = load_generator().generate(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in written}
    checked_in = {
        p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in GOLDEN.rglob("*") if p.is_file()
    }
    assert sorted(fresh) == sorted(checked_in)
    for name, data in fresh.items():
        assert checked_in[name] == data, f"{name} differs from the generator's output"


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen = load_generator()
    one = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "one")}
    two = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "two")}
    assert one == two
