"""Read and write Iter8 v0.1 ``Experiment`` resources.

An Iter8 v0.1 experiment is a Kubernetes custom resource (``apiVersion:
iter8.tools/v1alpha1``, ``kind: Experiment``). :func:`load_experiment` reads
one from a file or from YAML text and returns an
:class:`~canarystats.ExperimentSpec`; :func:`spec_from_iter8` does the same for
an already parsed mapping and :func:`spec_to_iter8` is its inverse, so that
``spec_from_iter8(spec_to_iter8(spec)) == spec``.

Examples
--------
>>> from canarystats import load_experiment, spec_from_iter8, spec_to_iter8
>>> spec = load_experiment('''
... apiVersion: iter8.tools/v1alpha1
... kind: Experiment
... metadata:
...   name: reviews-v3-rollout
...   namespace: bookinfo-iter8
... spec:
...   targetService: {name: reviews, baseline: reviews-v2, candidate: reviews-v3}
...   trafficControl: {interval: 30s, trafficStepSize: 20, maxIterations: 8}
...   analysis:
...     successCriteria:
...     - {metricName: iter8_latency, toleranceType: threshold, tolerance: 0.2,
...        sampleSize: 6, missing: iter8}
... ''')
>>> spec.traffic_control.interval, spec.traffic_control.max_traffic_percent
(30.0, 50.0)
>>> spec.criteria[0].tolerance, spec.criteria[0].sample_size, spec.criteria[0].missing
(0.2, 6.0, 'iter8')
>>> spec.extras
{'metadata.namespace': 'bookinfo-iter8'}
>>> doc = spec_to_iter8(spec)
>>> doc["spec"]["trafficControl"]["interval"], doc["metadata"]
('30s', {'name': 'reviews-v3-rollout', 'namespace': 'bookinfo-iter8'})
>>> spec_from_iter8(doc) == spec
True

Notes
-----
**Mapping.** Fields of the resource and the spec fields they fill:

=====================================================  ==========================================
Iter8 v0.1 field                                       canarystats
=====================================================  ==========================================
``metadata.name``                                      ``ExperimentSpec.name``
``spec.targetService.name``                            ``ExperimentSpec.target_service``
``spec.targetService.baseline`` / ``.candidate``       ``ExperimentSpec.baseline`` / ``.candidate``
``spec.trafficControl.strategy``                       ``TrafficControl.strategy``
``spec.trafficControl.interval``                       ``TrafficControl.interval`` (seconds)
``spec.trafficControl.trafficStepSize``                ``TrafficControl.step_size``
``spec.trafficControl.maxIterations``                  ``TrafficControl.max_iterations``
``spec.trafficControl.maxTrafficPercentage``           ``TrafficControl.max_traffic_percent``
``spec.trafficControl.onSuccess``                      ``TrafficControl.on_success``
``spec.trafficControl.confidence``                     ``TrafficControl.confidence``
``spec.analysis.successCriteria[i].metricName``        ``Criterion.metric``
``spec.analysis.successCriteria[i].toleranceType``     ``Criterion.tolerance_type``
``spec.analysis.successCriteria[i].tolerance``         ``Criterion.tolerance``
``spec.analysis.successCriteria[i].sampleSize``        ``Criterion.sample_size``
``spec.analysis.successCriteria[i].stopOnFailure``     ``Criterion.stop_on_failure``
=====================================================  ==========================================

``apiVersion`` must be ``iter8.tools/v1alpha1`` and ``kind`` must be
``Experiment``; they are checked, not stored (they can hold nothing else).

**Defaults.** Iter8's defaults fill absent fields (and fields set to
``null``, which Iter8's Go types also read as absent): ``strategy``
``check_and_increment``, ``interval`` ``1m``, ``trafficStepSize`` 2,
``maxIterations`` 100, ``maxTrafficPercentage`` 50, ``onSuccess``
``candidate``, ``confidence`` 0.95, ``sampleSize`` 10, ``stopOnFailure``
false. An experiment without success criteria runs Iter8's
``increment_without_check`` (see ``ExperimentSpec.effective_strategy``).

**Extension keys.** A success criterion may carry keys that are
canarystats' own, not Iter8's: ``method`` (``Criterion.method``, default
``point``), ``confidence`` (``Criterion.confidence``, default null: inherit
``spec.trafficControl.confidence``), ``missing`` (``Criterion.missing``,
``inconclusive`` or ``iter8``, default ``inconclusive``), ``direction``
(``Criterion.direction``, ``lower`` or ``higher``, default ``lower``),
``isCounter`` (``Criterion.is_counter``) and ``absentValue``
(``Criterion.absent_value``, a string), the last two defaulting to what
Iter8's metric configuration says for its standard metrics, and ``options``
(``Criterion.options``): a mapping of the method's own options by their
names, validated by the method's options class (an unknown name is a
:class:`~canarystats.SpecError` naming the allowed ones). An option may also be
written flat on the criterion, as a shorthand (``prior: [1, 1]`` for ``options:
{prior: [1, 1]}`` of ``method: bayes``; ``looks: 5`` of ``method:
group_sequential``; ``sequential_test: msprt`` of ``method: sequential``), and
:func:`spec_to_iter8` writes options that differ from their defaults that way;
a key that is neither an option of the criterion's method nor known keeps
today's behaviour (a warning, and the key kept in ``Criterion.extras``). Each
method's options are documented with its options class (e.g.
:class:`canarystats.methods.bayes.BayesOptions`). Iter8 itself prunes or
ignores these keys. ``spec.trafficControl`` may carry two extension
keys, ``earlyStop`` (``TrafficControl.early_stop``, default false: stop as
soon as anytime-valid verdicts decide) and ``srmCheck``
(``TrafficControl.srm_check``, default false: abort on a sample-ratio
mismatch); see ``docs/sequential.md``.
:func:`spec_to_iter8` writes extension keys only when they differ from their
defaults, so a plain Iter8 spec gives back a plain Iter8 document.

**Fields kept, not interpreted.** Every other field that Iter8 v0.1's
``Experiment`` defines is kept, without a warning, in
``ExperimentSpec.extras`` under its dotted path, and given back by
:func:`spec_to_iter8`: the rest of ``metadata`` (Kubernetes ``ObjectMeta``:
``metadata.namespace``, ``metadata.labels``, ...), ``status``, ``metrics``,
``action``, ``spec.assessment``, ``spec.cleanup``, ``spec.routingReference``,
``spec.gateways``, ``spec.targetService.{apiVersion, kind, namespace, uid,
resourceVersion, fieldPath}``, ``spec.analysis.{analyticsService,
grafanaEndpoint, reward}``; a success criterion's ``min_max`` is kept in
``Criterion.extras``. The list is the union of the v1alpha1 CRDs in
iter8-tools/iter8-controller (``pkg/apis/iter8/v1alpha1/experiment_types.go``,
``config/crds/iter8_v1alpha1_experiment.yaml`` and
``install/helm/iter8-controller/templates/crds/v1alpha1/iter8.tools_experiments.yaml``).

Any other key (a typo such as ``trafficStepsize``) gives one
:class:`~canarystats.UnknownFieldWarning` naming its dotted path, with a
suggestion when a known key is close, and is kept in the extras too: nothing
is dropped.

**Errors.** A wrong type or value raises :class:`~canarystats.SpecError`
naming the field's dotted path, the value and what is allowed. YAML booleans
must be real booleans (``yes`` quoted is a string, not a boolean); numbers
may be integers or floats; ``interval`` is a Go duration string. The CRD's
``epsilon_greedy`` is ``TrafficControl.strategy="epsilon_t_greedy"`` (the
REST API's name; written back as ``epsilon_greedy``); its other bandit
strategies, ``posterior_bayesian_routing`` and ``optimistic_bayesian_routing``,
keep their names (``canarystats.strategies.bandits``); ``top_k_routing`` is
canarystats' extension (Iter8 v1's top-k routing), not a v1alpha1 name.
"""

from __future__ import annotations

import copy
import difflib
import numbers
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from canarystats.adapters._fields import construct
from canarystats.errors import SpecError, UnknownFieldWarning
from canarystats.registry import get_method
from canarystats.spec import (
    DIRECTIONS,
    MISSING_POLICIES,
    ON_SUCCESS,
    STRATEGIES,
    TOLERANCE_TYPES,
    Criterion,
    ExperimentSpec,
    TrafficControl,
    format_duration,
    parse_duration,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "assess",
    "load_experiment",
    "spec_from_iter8",
    "spec_to_iter8",
    "state_from_iter8",
    "state_to_iter8",
]

#: The only ``apiVersion`` read and written.
API_VERSION = "iter8.tools/v1alpha1"
#: The only ``kind`` read and written.
KIND = "Experiment"

#: The CRD's strategy names that differ from canarystats' (the REST API's) names.
_CRD_STRATEGY_NAMES = {"epsilon_greedy": "epsilon_t_greedy"}
_STRATEGY_CRD_NAMES = {v: k for k, v in _CRD_STRATEGY_NAMES.items()}

# ---------------------------------------------------------------------------- the schema
#
# Field lists read from iter8-tools/iter8-controller, API group iter8.tools/v1alpha1:
# pkg/apis/iter8/v1alpha1/experiment_types.go (v0.1.0 and v0.1.1 versions),
# config/crds/iter8_v1alpha1_experiment.yaml and
# install/helm/iter8-controller/templates/crds/v1alpha1/iter8.tools_experiments.yaml.
# Each container maps its known keys to "section" (a nested mapping parsed below),
# "read" (interpreted by canarystats) or "keep" (stored in extras as it is).

# Kubernetes ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1), all kept but `name`.
_OBJECT_META = (
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "clusterName",
    "managedFields",
)
# corev1.ObjectReference, inlined in TargetService; `name` is read.
_OBJECT_REFERENCE = ("kind", "namespace", "uid", "apiVersion", "resourceVersion", "fieldPath")

_SCHEMA: dict[str, dict[str, str]] = {
    "": {
        "apiVersion": "read",
        "kind": "read",
        "metadata": "section",
        "spec": "section",
        "status": "keep",  # ExperimentStatus, written by the controller
        "metrics": "keep",  # ExperimentMetrics (v0.1.1): metric name -> query templates
        "action": "keep",  # pause / resume / override_* (helm v1alpha1 CRD)
    },
    "metadata": {"name": "read", **dict.fromkeys(_OBJECT_META, "keep")},
    "spec": {
        "targetService": "section",
        "trafficControl": "section",
        "analysis": "section",
        "assessment": "keep",  # override_success / override_failure
        "cleanup": "keep",  # delete
        "routingReference": "keep",  # corev1.ObjectReference
        "gateways": "keep",  # Istio gateways (helm v1alpha1 CRD)
    },
    "spec.targetService": {
        "name": "read",
        "baseline": "read",
        "candidate": "read",
        **dict.fromkeys(_OBJECT_REFERENCE, "keep"),
    },
    "spec.trafficControl": dict.fromkeys(
        (
            "strategy",
            "interval",
            "trafficStepSize",
            "maxIterations",
            "maxTrafficPercentage",
            "onSuccess",
            "confidence",
            "earlyStop",  # canarystats' extension
            "srmCheck",  # canarystats' extension
        ),
        "read",
    ),
    "spec.analysis": {
        "analyticsService": "keep",
        "grafanaEndpoint": "keep",
        "reward": "keep",  # the bandit strategies' reward metric
        "successCriteria": "read",
    },
}
_CRITERION_KEEP = ("min_max",)  # MinMax of a success criterion (v0.1.1)

# Iter8 key -> (attribute, kind of value, what is allowed) per spec class.
_Field = tuple[str, str, str]
_TRAFFIC_FIELDS: dict[str, _Field] = {
    "strategy": (
        "strategy",
        "str",
        f"one of {[_STRATEGY_CRD_NAMES.get(s, s) for s in STRATEGIES]}",
    ),
    "interval": (
        "interval",
        "duration",
        "a positive Go duration such as '30s', '1m' or '1h2m' (units ns, us, ms, s, m, h; no days)",
    ),
    "trafficStepSize": ("step_size", "number", "a number in (0, 100]"),
    "maxIterations": ("max_iterations", "int", "an integer >= 0"),
    "maxTrafficPercentage": ("max_traffic_percent", "number", "a number in [0, 100]"),
    "onSuccess": ("on_success", "str", f"one of {list(ON_SUCCESS)}"),
    "confidence": ("confidence", "number", "a number in (0, 1)"),
    # canarystats' extension: stop early on anytime-valid verdicts
    "earlyStop": ("early_stop", "bool", "true or false"),
    # canarystats' extension: abort on a sample-ratio mismatch
    "srmCheck": ("srm_check", "bool", "true or false"),
}
_IDENTITY_FIELDS: dict[str, _Field] = {
    "metadata.name": ("name", "str", "a non-empty string"),
    "spec.targetService.name": ("target_service", "str", "a non-empty string"),
    "spec.targetService.baseline": ("baseline", "str", "a non-empty string"),
    "spec.targetService.candidate": ("candidate", "str", "a non-empty string"),
}
_CRITERION_FIELDS: dict[str, _Field] = {
    "metricName": ("metric", "str", "a non-empty string such as 'iter8_latency'"),
    "toleranceType": ("tolerance_type", "str", f"one of {list(TOLERANCE_TYPES)}"),
    "tolerance": ("tolerance", "number", "a number"),
    "sampleSize": ("sample_size", "number", "a number >= 0"),
    "stopOnFailure": ("stop_on_failure", "bool", "true or false"),
}
#: canarystats' extension keys on a success criterion (not part of Iter8).
_EXTENSION_FIELDS: dict[str, _Field] = {
    "method": ("method", "str", "the name of a criterion method"),
    "confidence": (
        "confidence",
        "number?",
        "a number in (0, 1), or null to inherit `spec.trafficControl.confidence`",
    ),
    "missing": ("missing", "str", f"one of {list(MISSING_POLICIES)}"),
    "direction": ("direction", "str", f"one of {list(DIRECTIONS)}"),
    "isCounter": ("is_counter", "bool", "true or false"),
    "absentValue": ("absent_value", "str", "a string such as '0.0' or 'None' (quote numbers)"),
    "options": ("options", "mapping?", "a mapping of the method's option names to values"),
}
_REQUIRED_CRITERION_KEYS = ("metricName", "toleranceType", "tolerance")


# ---------------------------------------------------------------------------- loading


def load_experiment(source: str | os.PathLike[str]) -> ExperimentSpec:
    """Load an Iter8 v0.1 ``Experiment`` from a YAML file or from YAML text.

    Parameters
    ----------
    source : str or os.PathLike
        A path to an existing file, or YAML text (a string that is not the
        path of an existing file, e.g. one holding a newline). The YAML must
        hold exactly one document, a mapping; it is parsed with
        ``yaml.safe_load``.

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    SpecError
        For a missing or unreadable file, malformed YAML (the message gives
        the line and column), a document that is not one mapping, and any
        field that is not allowed (see the module's notes).

    Warns
    -----
    UnknownFieldWarning
        Once per key that Iter8 v0.1 does not define; the key is kept in
        ``extras``.

    Examples
    --------
    >>> from pathlib import Path
    >>> import canarystats
    >>> path = Path(canarystats.__file__).parent / "data" / "tutorial-experiment.yaml"
    >>> spec = load_experiment(path)
    >>> spec.name, spec.traffic_control.interval, spec.traffic_control.step_size
    ('reviews-v3-rollout', 30.0, 20.0)
    >>> sorted(spec.extras)
    ['spec.analysis.analyticsService', 'spec.targetService.apiVersion']
    """
    text, where = _read_source(source)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpecError(_yaml_error_message(err, where)) from None
    single_line = isinstance(source, str) and "\n" not in source and "\r" not in source
    if document is None and where == "YAML text" and not str(source).strip():
        raise SpecError("the YAML text is empty: expected an Iter8 Experiment (a mapping)")
    if not isinstance(document, Mapping) and where == "YAML text" and single_line:
        raise SpecError(
            f"no such file {source!r}, and as YAML text it is not a mapping (an Iter8 Experiment)"
        )
    spec, unknown = _parse_document(document, where)
    _emit_warnings(unknown)
    return spec


def spec_from_iter8(document: Mapping[str, Any]) -> ExperimentSpec:
    """Build an :class:`~canarystats.ExperimentSpec` from an Iter8 v0.1 ``Experiment``.

    Parameters
    ----------
    document : Mapping
        The resource as parsed from YAML or JSON.

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    SpecError
        For any field that is not allowed; the message names its dotted path.

    Warns
    -----
    UnknownFieldWarning
        Once per key that Iter8 v0.1 does not define; the key is kept.
    """
    spec, unknown = _parse_document(document, "the document")
    _emit_warnings(unknown)
    return spec


def _read_source(source: str | os.PathLike[str]) -> tuple[str, str]:
    """The YAML text of ``source`` and a description of where it came from."""
    if isinstance(source, os.PathLike):
        path = Path(source)
    elif isinstance(source, str):
        if "\n" in source or "\r" in source:
            return source, "YAML text"
        path = Path(source)
        try:
            is_file = path.is_file()
        except (OSError, ValueError):  # a name too long or holding NUL is not a path
            is_file = False
        if not is_file:
            return source, "YAML text"
    else:
        raise TypeError(
            f"`source` must be a path (str or os.PathLike) or YAML text, got {source!r}"
        )
    try:
        return path.read_text(encoding="utf-8"), f"file {str(path)!r}"
    except FileNotFoundError:
        raise SpecError(f"no such file: {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read {str(path)!r}: {err}") from None


def _yaml_error_message(err: yaml.YAMLError, where: str) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    parts = [getattr(err, "context", None), getattr(err, "problem", None)]
    reason = "; ".join(p for p in parts if p) or str(err)
    return " ".join(f"malformed YAML in {where}{at}: {reason}".split())


def _emit_warnings(unknown: list[tuple[str, list[str]]]) -> None:
    for path, known in unknown:
        key = _last_key(path)
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if not close:  # case-insensitive second try (e.g. "TARGETSERVICE")
            lowered = {k.lower(): k for k in known}
            close = [lowered[k] for k in difflib.get_close_matches(key.lower(), list(lowered), 1)]
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        warnings.warn(
            f"unknown Iter8 field `{path}`{hint}; it is kept in `extras`, not interpreted",
            UnknownFieldWarning,
            stacklevel=3,
        )


def _last_key(path: str) -> str:
    return path.rsplit(".", 1)[-1] if "." in path else path


# ---------------------------------------------------------------------------- parsing


class _Parser:
    """One pass over a document, collecting extras and unknown keys."""

    def __init__(self) -> None:
        self.extras: dict[str, Any] = {}
        self.unknown: list[tuple[str, list[str]]] = []

    def section(self, document: Mapping[Any, Any], container: str) -> dict[str, Any]:
        """The keys of ``container`` that canarystats reads; the rest go to extras."""
        known = _SCHEMA[container]
        read: dict[str, Any] = {}
        for key, value in document.items():
            role = known.get(key) if isinstance(key, str) else None
            path = _join(container, str(key))
            if role in ("read", "section"):
                read[key] = value
            else:
                if role is None:
                    self.unknown.append((path, list(known)))
                self.extras[path] = copy.deepcopy(value)
        return read


def _join(container: str, key: str) -> str:
    return f"{container}.{key}" if container else key


def _mapping(value: Any, path: str, *, required: bool) -> Mapping[Any, Any]:
    if value is None and not required:
        return {}
    if value is None:
        raise SpecError(f"`{path}` is required: a mapping, got nothing")
    if not isinstance(value, Mapping):
        raise SpecError(f"`{path}` must be a mapping, got {value!r}")
    return value


def _parse_document(
    document: Any, where: str
) -> tuple[ExperimentSpec, list[tuple[str, list[str]]]]:
    if not isinstance(document, Mapping):
        raise SpecError(f"{where} must be a mapping (an Iter8 {KIND} resource), got {document!r}")
    parser = _Parser()
    top = parser.section(document, "")
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if top.get(key) != expected:
            got = f"got {top[key]!r}" if key in top else "it is missing"
            hint = " (canarystats reads Iter8 v0.1 experiments)" if key == "apiVersion" else ""
            raise SpecError(f"`{key}` must be {expected!r}{hint}, {got}")
    metadata = parser.section(_mapping(top.get("metadata"), "metadata", required=True), "metadata")
    spec = parser.section(_mapping(top.get("spec"), "spec", required=True), "spec")
    target = parser.section(
        _mapping(spec.get("targetService"), "spec.targetService", required=True),
        "spec.targetService",
    )
    traffic = parser.section(
        _mapping(spec.get("trafficControl"), "spec.trafficControl", required=False),
        "spec.trafficControl",
    )
    analysis = parser.section(
        _mapping(spec.get("analysis"), "spec.analysis", required=False), "spec.analysis"
    )

    identity_values = {
        "metadata.name": metadata.get("name"),
        "spec.targetService.name": target.get("name"),
        "spec.targetService.baseline": target.get("baseline"),
        "spec.targetService.candidate": target.get("candidate"),
    }
    identity: dict[str, Any] = {}
    for path, value in identity_values.items():
        if value is None:
            raise SpecError(f"`{path}` is required: a non-empty string, but it is missing")
        identity[_IDENTITY_FIELDS[path][0]] = _check_value(value, path, _IDENTITY_FIELDS[path])

    traffic_control = _build_traffic_control(traffic)
    criteria = _build_criteria(analysis.get("successCriteria"), parser)
    result = construct(
        ExperimentSpec,
        {
            **identity,
            "traffic_control": traffic_control,
            "criteria": criteria,
            "extras": parser.extras,
        },
        {attr: path for path, (attr, _, _) in _IDENTITY_FIELDS.items()},
    )
    return result, parser.unknown


def _build_traffic_control(traffic: Mapping[str, Any]) -> TrafficControl:
    kwargs: dict[str, Any] = {}
    for key, value in traffic.items():
        field = _TRAFFIC_FIELDS[key]
        path = f"spec.trafficControl.{key}"
        if value is None:
            continue  # null reads as absent in Iter8's Go types: the default applies
        if key == "strategy" and value in _STRATEGY_CRD_NAMES:
            raise SpecError(
                f"`{path}` {value!r} is the analytics REST API's name; an Experiment "
                f"resource names it {_STRATEGY_CRD_NAMES[value]!r}"
            )
        if key == "strategy" and value in _CRD_STRATEGY_NAMES:
            value = _CRD_STRATEGY_NAMES[value]
        kwargs[field[0]] = _check_value(value, path, field)
    paths = {attr: f"spec.trafficControl.{key}" for key, (attr, _, _) in _TRAFFIC_FIELDS.items()}
    traffic_control: TrafficControl = construct(TrafficControl, kwargs, paths)
    return traffic_control


def _build_criteria(value: Any, parser: _Parser) -> list[Criterion]:
    base = "spec.analysis.successCriteria"
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise SpecError(f"`{base}` must be a list of success criteria, got {value!r}")
    criteria = []
    known = [*_CRITERION_FIELDS, *_EXTENSION_FIELDS, *_CRITERION_KEEP]
    for i, item in enumerate(value):
        prefix = f"{base}[{i}]"
        entry = _mapping(item, prefix, required=True)
        kwargs: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        method = entry.get("method")
        try:
            option_names = _option_names(method if isinstance(method, str) else "point")
        except SpecError:
            option_names = ()  # an unknown method: Criterion names the allowed ones
        shorthand: dict[str, Any] = {}
        for key, field_value in entry.items():
            path = f"{prefix}.{key}"
            field = (
                (_CRITERION_FIELDS.get(key) or _EXTENSION_FIELDS.get(key))
                if isinstance(key, str)
                else None
            )
            if field is None and key in option_names:
                # a method's option written flat on the criterion: shorthand for `options`
                if field_value is not None:
                    shorthand[str(key)] = copy.deepcopy(field_value)
                continue
            if field is None:
                if key not in _CRITERION_KEEP:
                    parser.unknown.append((path, known))
                extras[str(key)] = copy.deepcopy(field_value)
            elif (
                field_value is not None or field[1] == "number?" or key in _REQUIRED_CRITERION_KEYS
            ):
                # null reads as absent (the default applies), except where null means
                # something (a criterion's confidence) or the key is required
                kwargs[field[0]] = _check_value(field_value, path, field)
        for key in _REQUIRED_CRITERION_KEYS:
            if _CRITERION_FIELDS[key][0] not in kwargs:
                raise SpecError(
                    f"`{prefix}.{key}` is required: {_CRITERION_FIELDS[key][2]}, but it is missing"
                )
        if shorthand:
            given = kwargs.get("options") or {}
            both = sorted(set(given) & set(shorthand))
            if both:
                raise SpecError(
                    f"`{prefix}.{both[0]}` is given twice: flat and in `{prefix}.options`; "
                    "keep one"
                )
            kwargs["options"] = {**shorthand, **given}
        kwargs["extras"] = extras
        paths = {
            attr: f"{prefix}.{key}"
            for key, (attr, _, _) in {**_CRITERION_FIELDS, **_EXTENSION_FIELDS}.items()
        }
        # an option's error names where the document wrote it: flat, or under `options`
        for option in option_names:
            where = option if option in shorthand else f"options.{option}"
            paths.setdefault(option, f"{prefix}.{where}")
        criteria.append(construct(Criterion, kwargs, paths))
    return criteria


def _option_names(method: str) -> tuple[str, ...]:
    """The option names of a registered criterion method (its options class's fields)."""
    options_type = get_method(method).options_type
    return tuple(f.name for f in attrs.fields(options_type) if f.init)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _check_value(value: Any, path: str, field: _Field) -> Any:
    """Check the YAML type of one value; the spec classes check the rest."""
    _, kind, allowed = field
    ok: bool
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "bool":
        ok = isinstance(value, bool | np.bool_)
    elif kind == "number":
        ok = _is_number(value)
    elif kind == "number?":
        ok = value is None or _is_number(value)
    elif kind == "mapping?":
        ok = value is None or isinstance(value, Mapping)
        value = copy.deepcopy(dict(value)) if isinstance(value, Mapping) else value
    elif kind == "pair?":
        ok = value is None or (
            isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value))
        )
    elif kind == "int":
        ok = isinstance(value, numbers.Integral | float) and not isinstance(value, bool | np.bool_)
        ok = ok and float(value).is_integer()
        value = int(value) if ok else value
    else:  # duration
        ok = isinstance(value, str)
        if ok:
            try:
                seconds = parse_duration(value)
            except SpecError:
                ok = False
            else:
                ok = seconds > 0
                value = seconds if ok else value
    if not ok:
        raise SpecError(f"`{path}` must be {allowed}, got {value!r}")
    return value




# ---------------------------------------------------------------------------- writing


def spec_to_iter8(spec: ExperimentSpec) -> dict[str, Any]:
    """The Iter8 v0.1 ``Experiment`` resource of ``spec``, as a mapping.

    Extension keys are written only when they differ from their defaults, and
    ``extras`` go back to their dotted paths, so that
    ``spec_from_iter8(spec_to_iter8(spec)) == spec``.

    Parameters
    ----------
    spec : ExperimentSpec

    Returns
    -------
    dict
        Plain Python values (str, int, float, bool, lists, dicts), ready for
        ``yaml.safe_dump`` or ``json.dumps`` (extras are given back as they were
        read).

    Raises
    ------
    SpecError
        When a tunable parameter is an array (an Iter8 document holds one
        number per field), or when an extras path names a field canarystats
        writes itself.
    """
    if not isinstance(spec, ExperimentSpec):
        raise TypeError(f"`spec` must be an ExperimentSpec, got {spec!r}")
    tc = spec.traffic_control
    traffic: dict[str, Any] = {
        "strategy": _STRATEGY_CRD_NAMES.get(tc.strategy, tc.strategy),
        "interval": format_duration(tc.interval),
        "trafficStepSize": _scalar(tc.step_size, "traffic_control.step_size", "trafficStepSize"),
        "maxIterations": int(tc.max_iterations),
        "maxTrafficPercentage": _scalar(
            tc.max_traffic_percent, "traffic_control.max_traffic_percent", "maxTrafficPercentage"
        ),
        "onSuccess": tc.on_success,
        "confidence": _scalar(tc.confidence, "traffic_control.confidence", "confidence"),
    }
    if tc.early_stop:  # an extension key: written only when set
        traffic["earlyStop"] = True
    if tc.srm_check:  # an extension key: written only when set
        traffic["srmCheck"] = True
    analysis: dict[str, Any] = {}
    if spec.criteria:
        analysis["successCriteria"] = [
            _criterion_to_iter8(c, i) for i, c in enumerate(spec.criteria)
        ]
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": spec.name},
        "spec": {
            "targetService": {
                "name": spec.target_service,
                "baseline": spec.baseline,
                "candidate": spec.candidate,
            },
            "trafficControl": traffic,
            "analysis": analysis,
        },
    }
    containers: dict[str, dict[str, Any]] = {
        "": document,
        "metadata": document["metadata"],
        "spec": document["spec"],
        "spec.targetService": document["spec"]["targetService"],
        "spec.trafficControl": traffic,
        "spec.analysis": analysis,
    }
    for path, value in spec.extras.items():
        container, key = _split_path(str(path))
        if _SCHEMA[container].get(key) in ("read", "section"):
            raise SpecError(
                f"`extras` holds {path!r}, a field canarystats writes itself; remove it "
                "from `extras` and set the spec field instead"
            )
        containers[container][key] = copy.deepcopy(value)
    if not analysis:
        del document["spec"]["analysis"]
    return document


def _split_path(path: str) -> tuple[str, str]:
    """The longest known container that prefixes ``path``, and the key after it."""
    for container in sorted(_SCHEMA, key=len, reverse=True):
        if container and path.startswith(container + "."):
            return container, path[len(container) + 1 :]
    return "", path


def _criterion_to_iter8(criterion: Criterion, index: int) -> dict[str, Any]:
    name = f"criteria[{index}]"
    out: dict[str, Any] = {
        "metricName": criterion.metric,
        "toleranceType": criterion.tolerance_type,
        "tolerance": _scalar(criterion.tolerance, f"{name}.tolerance", "tolerance"),
        "sampleSize": _scalar(criterion.sample_size, f"{name}.sample_size", "sampleSize"),
        "stopOnFailure": bool(criterion.stop_on_failure),
    }
    if criterion.confidence is not None:
        _scalar(criterion.confidence, f"{name}.confidence", "confidence")
    # The defaults of the extension fields for this metric.
    reference = Criterion(metric=criterion.metric, tolerance_type="threshold", tolerance=0.0)
    for key, (attr, _, _) in _EXTENSION_FIELDS.items():
        if key == "options":
            # the method's options are written flat on the criterion (the shorthand)
            for option, v in criterion.options.to_mapping().items():
                out[option] = (
                    _scalar(v, f"{name}.options.{option}", option)
                    if isinstance(v, np.ndarray) else _plain(v)
                )
            continue
        value = getattr(criterion, attr)
        if value != getattr(reference, attr):
            out[key] = _plain(value)
    for key, value in criterion.extras.items():
        if key in out or key in _CRITERION_FIELDS or key in _EXTENSION_FIELDS:
            raise SpecError(
                f"`{name}.extras` holds {key!r}, a field canarystats writes itself; remove "
                "it from `extras` and set the criterion's field instead"
            )
        out[str(key)] = copy.deepcopy(value)
    return out


def _scalar(value: Any, name: str, key: str) -> int | float:
    if isinstance(value, np.ndarray):
        raise SpecError(
            f"`{name}` is an array of shape {value.shape}; an Iter8 document holds one "
            f"number in `{key}`: write one setting at a time"
        )
    return _plain(value)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """A plain Python value; integral floats become ints (``20`` rather than ``20.0``)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2.0**53 else value
    return value


# The analytics REST contract (``check_and_increment``) lives in its own module.
from canarystats.adapters.iter8_rest import assess, state_from_iter8, state_to_iter8  # noqa: E402
