"""Criterion methods: the base that owns the data policy, and one module per method.

Each method module registers its method in :mod:`canarystats.registry` when it
is imported; this package imports every module in it when it is imported
itself -- the built-in methods first, in the order of
:data:`canarystats.spec.METHODS` -- so adding a method here is its module (a
:class:`~canarystats.methods.base.Method` subclass decorated with
:func:`~canarystats.registry.register_method`), its tests and its docs page,
with no list to extend. A method outside the package registers itself the same
way (see :mod:`canarystats.registry`).
"""

import importlib
import pkgutil

from canarystats.spec import METHODS

_FIRST = {name: i for i, name in enumerate(METHODS)}
for _info in sorted(
    pkgutil.iter_modules(__path__), key=lambda m: (_FIRST.get(m.name, len(_FIRST)), m.name)
):
    importlib.import_module(f"{__name__}.{_info.name}")
