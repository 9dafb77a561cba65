"""Profiles shipped with moosplit; each CSV's metadata says where its numbers come from."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ...errors import ProfileError
from ..csv_io import read_profile
from ..profile import Profile


def bundled_profiles() -> tuple[str, ...]:
    """Names of the bundled profiles, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".csv")))


def bundled_path(name: str) -> Path:
    """Path of a bundled profile's CSV."""
    if name not in bundled_profiles():
        raise ProfileError(
            f"no bundled profile named {name!r}; bundled: {', '.join(bundled_profiles())}")
    return Path(str(resources.files(__name__).joinpath(f"{name}.csv")))


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Load a profile from a CSV path, or by the name of a bundled profile.

    A path that exists wins over a bundled name.

    Example:
        >>> load_profile("portend_resnet20").n_nodes
        11
    """
    path = Path(name_or_path)
    if path.exists():
        return read_profile(path)
    if isinstance(name_or_path, str) and name_or_path in bundled_profiles():
        return read_profile(bundled_path(name_or_path))
    raise ProfileError(
        f"{name_or_path}: no such file, nor a bundled profile (bundled: "
        f"{', '.join(bundled_profiles())})")
