"""The host policy's ``[channel]`` table: which channel a host follows, who may move it.

::

    [channel]
    name = "global"                            # channels/<name>.json in the store
    phase = "global"                           # optional; default: the name's first part
    trust_policy = "channel-trust.toml"        # who signs channel statements (own threshold)
    rollback_trust_policy = "rollback-trust.toml"  # who may authorize rollbacks; unset: none
    canary_hours = 4                           # optional promotion rules, checked by the host
    regional_hours = 12
    max_hours = 24

Gate attestations (the evidence) are verified with the host's own
``trust_policy`` (give the gate key ``purposes = ["gate"]`` there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from nebsign._internal import fields
from nebsign.channels.model import Phase, check_channel_name, phase_of
from nebsign.channels.rules import PromotionRules
from nebsign.errors import InputError

__all__ = ["ChannelSpec", "parse_channel_table"]

_KEYS = frozenset(
    {
        "name",
        "phase",
        "trust_policy",
        "rollback_trust_policy",
        "canary_hours",
        "regional_hours",
        "max_hours",
    }
)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    phase: Phase
    trust: Any
    rollback_trust: Any | None
    rules: PromotionRules


def _hours(table: dict[str, Any], key: str, default: Decimal, what: str) -> Decimal:
    where = f"{what}: channel.{key}"
    out = fields.decimal(table.get(key, default), where, expected="must be a number of hours")
    if out <= 0:
        raise InputError(f"{where} must be positive")
    return out


def parse_channel_table(
    table: object,
    *,
    base_dir: Path,
    what: str,
    loader: Callable[[Path], tuple[Any, bytes]],
) -> ChannelSpec:
    table = fields.table(table, f"{what}: [channel]")
    fields.unknown_keys(table, _KEYS, f"{what}: channel", dotted=True)
    for key in ("name", "trust_policy"):
        if key not in table:
            raise InputError(f"{what}: channel.{key} is required (a string)")
        fields.string(table[key], f"{what}: channel.{key}")
    name = check_channel_name(table["name"], what)
    if "phase" in table:
        try:
            phase = Phase(table["phase"])
        except ValueError as exc:
            raise InputError(
                f"{what}: channel.phase must be one of {', '.join(p.value for p in Phase)}"
            ) from exc
    else:
        phase = phase_of(name)
    trust, _ = loader(base_dir / table["trust_policy"])
    rollback_trust = None
    if "rollback_trust_policy" in table:
        rollback = fields.string(
            table["rollback_trust_policy"],
            f"{what}: channel.rollback_trust_policy",
            expected="must be a file name",
        )
        rollback_trust, _ = loader(base_dir / rollback)
    defaults = PromotionRules()
    rules = PromotionRules(
        _hours(table, "canary_hours", defaults.canary_hours, what),
        _hours(table, "regional_hours", defaults.regional_hours, what),
        _hours(table, "max_hours", defaults.max_hours, what),
    )
    return ChannelSpec(name, phase, trust, rollback_trust, rules)
