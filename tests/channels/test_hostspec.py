"""The host policy's [channel] table: typed, closed, trust files loaded with the same checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from channelkit import Store, host

from nebsign.channels.model import Phase
from nebsign.errors import InputError
from nebsign.policy.host import load_host_policy


def _with(tmp_path: Path, store: Store, table: str) -> Path:
    kit = host(store, tmp_path / "h")
    text = kit.policy_path.read_text()
    start = text.index("[channel]")
    end = text.index("[[require]]")
    kit.policy_path.write_text(text[:start] + table + "\n" + text[end:])
    return kit.policy_path


def test_defaults(store: Store, tmp_path: Path) -> None:
    path = _with(
        tmp_path, store, '[channel]\nname = "regional-eu"\ntrust_policy = "channel-trust.toml"'
    )
    spec = load_host_policy(path).channel
    assert spec.name == "regional-eu" and spec.phase is Phase.REGIONAL
    assert spec.rollback_trust is None
    assert (spec.rules.canary_hours, spec.rules.regional_hours, spec.rules.max_hours) == (4, 12, 24)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ('[channel]\ntrust_policy = "channel-trust.toml"', "channel.name is required"),
        ('[channel]\nname = "global"', "channel.trust_policy is required"),
        ('[channel]\nname = "prod"\ntrust_policy = "channel-trust.toml"', "phase"),
        ('[channel]\nname = "x"\nphase = "beta"\ntrust_policy = "channel-trust.toml"', "phase"),
        ('[channel]\nname = "Global"\ntrust_policy = "channel-trust.toml"', "channel name"),
        ('[channel]\nname = "global"\ntrust_policy = "missing.toml"', "missing.toml"),
        ('[channel]\nname = "global"\ntrust_policy = "channel-trust.toml"\nextra = 1', "unknown"),
        (
            '[channel]\nname = "global"\ntrust_policy = "channel-trust.toml"\ncanary_hours = -1',
            "positive",
        ),
        (
            '[channel]\nname = "global"\ntrust_policy = "channel-trust.toml"\nmax_hours = true',
            "number",
        ),
        ('channel = "global"', "must be a table"),
    ],
)
def test_bad_tables(store: Store, tmp_path: Path, table: str, match: str) -> None:
    path = _with(tmp_path, store, table)
    with pytest.raises(InputError, match=match):
        load_host_policy(path)
