"""Loads the _core extension.

An installed wheel carries the shared libraries _core needs that a plain Python machine may lack
(tapconv/.libs, listed in load order in .libs/load_order.txt). _core finds its direct
dependencies there through its RUNPATH ($ORIGIN/.libs); loading the listed ones first also
satisfies dependencies of those libraries themselves, which RUNPATH does not cover.
"""

import ctypes
import os

_LIBS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".libs")


def _preload_carried_libraries():
    order_file = os.path.join(_LIBS_DIR, "load_order.txt")
    if not os.path.isfile(order_file):
        return  # a source or build tree: the system provides the libraries
    with open(order_file, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    for name in names:
        ctypes.CDLL(os.path.join(_LIBS_DIR, name))


_preload_carried_libraries()

from . import _core as core  # noqa: E402  (after the preload, on purpose)
