"""Thresholds of the enumeration rules, their defaults, and how to change them.

Defaults (``trailseal runtime logs --help`` lists them too):

=========================  =======  ============================================
name                       default  meaning
=========================  =======  ============================================
short_window_seconds       30       ENUM001 short window
short_window_ids           30       ENUM001: distinct ids in the short window
long_window_seconds        300      window of ENUM001, ENUM002 and ENUM003
long_window_ids            100      ENUM001: distinct ids in the long window
baseline_multiple          10       ENUM001: times the route's median subject
baseline_min_ids           20       ENUM001: floor under the baseline threshold
baseline_min_samples       20       ENUM001: subject windows before a baseline
fanout_unowned_share       0.1      ENUM001: share of requests that missed or
                                    hit another subject's ids
sequence_min_requests      10       ENUM002: numeric ids in a walk
sequence_equal_share       0.8      ENUM002: share of steps equal to the commonest
miss_min_requests          20       ENUM003: requests in the long window
miss_ratio                 0.5      ENUM003: share answered by a miss status
miss_statuses              403,404  ENUM003: statuses that count as misses
foreign_min_ids            5        ENUM004: distinct ids first seen for others
foreign_min_owners         3        ENUM004: distinct subjects owning them
velocity_ids_per_minute    20       ENUM005: distinct ids in one minute
velocity_minutes           10       ENUM005: consecutive minutes at that rate
address_window_seconds     600      ENUM006 window
address_min_count          10       ENUM006: distinct addresses in the window
shared_min_subjects        5        subjects touching others' ids before a route
shared_ratio               0.3      ... and their share, make a route shared
slug_min_values            50       literal values under a parent making a slug
max_tracked_ids            500000   (route, id) owners remembered (memory bound)
public_routes              (none)   templates (glob) that are shared by design
ignore_routes              (none)   templates (glob) no rule looks at
=========================  =======  ============================================

Shared routes (a product catalogue read by everyone) are exempt from
ENUM001, ENUM002, ENUM004 and ENUM005: reading many public objects is
not access to someone else's. A config file is TOML or JSON holding these
names at the top level or under an ``[enumeration]`` table.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import InputError


@dataclass(frozen=True)
class EnumerationPolicy:
    """The thresholds the ENUM rules apply; see the module docstring for each."""

    short_window_seconds: int = 30
    short_window_ids: int = 30
    long_window_seconds: int = 300
    long_window_ids: int = 100
    baseline_multiple: int = 10
    baseline_min_ids: int = 20
    baseline_min_samples: int = 20
    fanout_unowned_share: float = 0.1
    sequence_min_requests: int = 10
    sequence_equal_share: float = 0.8
    miss_min_requests: int = 20
    miss_ratio: float = 0.5
    miss_statuses: tuple[int, ...] = (403, 404)
    foreign_min_ids: int = 5
    foreign_min_owners: int = 3
    velocity_ids_per_minute: int = 20
    velocity_minutes: int = 10
    address_window_seconds: int = 600
    address_min_count: int = 10
    shared_min_subjects: int = 5
    shared_ratio: float = 0.3
    slug_min_values: int = 50
    max_tracked_ids: int = 500_000
    public_routes: tuple[str, ...] = ()
    ignore_routes: tuple[str, ...] = ()

    def updated(self, values: Mapping[str, Any], where: str) -> EnumerationPolicy:
        """A copy with ``values`` applied; ``where`` names their source in errors."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in fields:
                known = ", ".join(sorted(fields))
                raise InputError(f"{where}: unknown threshold '{name}'; known names: {known}")
            default = getattr(self, name)
            try:
                changes[name] = _coerce(value, default)
            except (TypeError, ValueError):
                raise InputError(
                    f"{where}: '{name}' must be {_describe(default)}, not {value!r}"
                ) from None
        return dataclasses.replace(self, **changes)


def load_policy(config: Path | None, settings: Iterable[str] = ()) -> EnumerationPolicy:
    """The default policy, changed by a TOML/JSON ``config`` then by ``name=value`` settings."""
    policy = EnumerationPolicy()
    if config is not None:
        policy = policy.updated(_read_config(config), str(config))
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep:
            raise InputError(f"--set {setting!r}: expected NAME=VALUE")
        policy = policy.updated({name.strip(): value.strip()}, f"--set {name.strip()}")
    return policy


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the threshold config: {exc}") from exc
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: neither valid TOML nor valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the threshold config must be a table of NAME = VALUE")
    table = data.get("enumeration", data)
    if not isinstance(table, dict):
        raise InputError(f"{path}: [enumeration] must be a table")
    return table


def _coerce(value: Any, default: Any) -> Any:
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else list(value)
        kind = int if default and isinstance(default[0], int) else str
        return tuple(kind(str(i).strip()) for i in items if str(i).strip())
    if isinstance(default, bool):
        raise TypeError
    if isinstance(default, int):
        if isinstance(value, float) or (isinstance(value, str) and not value.strip().isdigit()):
            raise ValueError
        number = int(value)
        if number <= 0:
            raise ValueError
        return number
    share = float(value)
    if not 0 < share <= 1:
        raise ValueError
    return share


def _describe(default: Any) -> str:
    if isinstance(default, tuple):
        return "a comma-separated list"
    if isinstance(default, int):
        return "a positive integer"
    return "a ratio in (0, 1]"


def ratio(value: float) -> str:
    """A ratio as the two-decimal string findings carry (records hold no floats)."""
    return f"{value:.2f}"
