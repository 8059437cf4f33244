"""Criterion methods: the base that owns the data policy, and one module per method.

Each method module registers its method in :mod:`canarystats.registry` when it
is imported; importing :mod:`canarystats` imports them all. Adding a method is
its module (a :class:`~canarystats.methods.base.Method` subclass decorated with
:func:`~canarystats.registry.register_method`), its tests and its docs page.
"""
