"""`nebsign demo`, the main job: every step runs, offline, and passes."""

from __future__ import annotations

from helpers import run_cli

from nebsign._demo import STEPS, load_steps


def test_demo_runs_every_step_and_passes() -> None:
    result = run_cli("demo", timeout=600)
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr
    titles = [title for title, _ in load_steps()]
    for number, title in enumerate(titles, start=1):
        assert f"[{number}/{len(STEPS)}] {title}" in result.stdout
    assert f"demo complete: {len(STEPS)} steps passed" in result.stdout
    # Each capability shows its refusal of bad input, not only the happy path.
    assert result.stdout.count("refused") >= 4
    assert "Traceback" not in result.stderr
