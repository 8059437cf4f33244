"""Adapters at the edges: Iter8 documents and REST requests, recorded rollouts, Prometheus.

- :mod:`canarystats.adapters.iter8` reads and writes Iter8 v0.1 ``Experiment``
  resources; :mod:`canarystats.adapters.iter8_rest` answers Iter8's analytics
  REST requests, and :mod:`canarystats.adapters.service` serves them over HTTP.
- :mod:`canarystats.adapters.frames` reads recorded rollouts (tables of
  cumulative counters) into the arrays of
  :mod:`canarystats.adapters.rollout_series`.
- :mod:`canarystats.adapters.prometheus.queries` and :mod:`canarystats.adapters.prometheus`
  build the queries and read the metrics from a Prometheus server.
"""
