"""Criterion methods: the base that owns the data policy, and one module per method.

Each method module registers its method in :mod:`canarystats.registry` when it
is imported; this package imports the built-in ones in the order of
:data:`canarystats.spec.METHODS`. Adding a method is its module (a
:class:`~canarystats.methods.base.Method` subclass decorated with
:func:`~canarystats.registry.register_method`), its tests and its docs page.
"""

from canarystats.methods import point as point  # isort: skip  (registration order)
from canarystats.methods import bayes as bayes  # isort: skip
from canarystats.methods import sequential as sequential  # isort: skip
from canarystats.methods import group_sequential as group_sequential  # isort: skip
from canarystats.methods import fixed as fixed  # isort: skip
from canarystats.methods import ranks as ranks  # isort: skip
