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
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InputError(f"{what}: channel.{key} must be a number of hours")
    out = Decimal(str(value))
    if not out.is_finite() or out <= 0:
        raise InputError(f"{what}: channel.{key} must be positive")
    return out


def parse_channel_table(
    table: object,
    *,
    base_dir: Path,
    what: str,
    loader: Callable[[Path], tuple[Any, bytes]],
) -> ChannelSpec:
    if not isinstance(table, dict):
        raise InputError(f"{what}: [channel] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise InputError(f"{what}: unknown key channel.{unknown[0]}")
    for key in ("name", "trust_policy"):
        if not isinstance(table.get(key), str):
            raise InputError(f"{what}: channel.{key} is required (a string)")
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
        if not isinstance(table["rollback_trust_policy"], str):
            raise InputError(f"{what}: channel.rollback_trust_policy must be a file name")
        rollback_trust, _ = loader(base_dir / table["rollback_trust_policy"])
    defaults = PromotionRules()
    rules = PromotionRules(
        _hours(table, "canary_hours", defaults.canary_hours, what),
        _hours(table, "regional_hours", defaults.regional_hours, what),
        _hours(table, "max_hours", defaults.max_hours, what),
    )
    return ChannelSpec(name, phase, trust, rollback_trust, rules)
