"""Profiles: the layer table of SPEC section 2, its CSV form, bundled and synthetic ones."""

from .bundled import bundled_profiles, load_profile
from .csv_io import read_profile, write_profile
from .profile import Profile
from .synthetic import random_profile

__all__ = [
    "Profile",
    "bundled_profiles",
    "load_profile",
    "random_profile",
    "read_profile",
    "write_profile",
]
