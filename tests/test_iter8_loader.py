"""Tests for the Iter8 v0.1 Experiment adapter (canarystats.adapters.iter8)."""

from __future__ import annotations

import copy
import pathlib
import warnings
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import canarystats
from canarystats import (
    Criterion,
    ExperimentSpec,
    SpecError,
    TrafficControl,
    UnknownFieldWarning,
    load_experiment,
)
from canarystats.adapters.iter8 import spec_from_iter8, spec_to_iter8

TUTORIAL = pathlib.Path(canarystats.__file__).parent / "data" / "tutorial-experiment.yaml"

MINIMAL = """\
apiVersion: iter8.tools/v1alpha1
kind: Experiment
metadata:
  name: exp
spec:
  targetService:
    name: svc
    baseline: svc-v1
    candidate: svc-v2
"""


def minimal_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(MINIMAL)
    return doc


def with_criterion(**fields: Any) -> dict[str, Any]:
    doc = minimal_doc()
    criterion = {"metricName": "iter8_latency", "toleranceType": "threshold", "tolerance": 0.2}
    criterion.update(fields)
    doc["spec"]["analysis"] = {"successCriteria": [criterion]}
    return doc


def quiet_load(document: dict[str, Any]) -> ExperimentSpec:
    """spec_from_iter8 ignoring UnknownFieldWarning (for generated documents)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownFieldWarning)
        return spec_from_iter8(document)


# ---------------------------------------------------------------------------- the tutorial


def test_tutorial_loads_with_exact_values() -> None:
    # canarystats/data/tutorial-experiment.yaml: the Tekton canary-release tutorial's
    # Iter8 v0.1.1 Experiment, loaded as it is.
    spec = load_experiment(TUTORIAL)
    assert spec.name == "reviews-v3-rollout"
    assert spec.target_service == "reviews"
    assert spec.baseline == "reviews-v2"
    assert spec.candidate == "reviews-v3"
    tc = spec.traffic_control
    assert tc.strategy == "check_and_increment"
    assert tc.interval == 30.0
    assert tc.step_size == 20.0
    assert tc.max_iterations == 8
    assert tc.max_traffic_percent == 80.0
    assert tc.on_success == "candidate"
    assert tc.confidence == 0.95  # absent: Iter8's default
    assert len(spec.criteria) == 1
    (criterion,) = spec.criteria
    assert criterion.metric == "iter8_latency"
    assert criterion.tolerance_type == "threshold"
    assert criterion.tolerance == 0.2
    assert criterion.sample_size == 6.0
    assert criterion.stop_on_failure is False
    assert criterion.absent_value == "None"
    assert criterion.is_counter is False
    assert criterion.method == "point"
    assert criterion.confidence is None
    assert criterion.missing == "inconclusive"
    assert criterion.extras == {}
    # Fields the CRD defines but canarystats does not interpret: kept, no warning.
    assert spec.extras == {
        "spec.analysis.analyticsService": "http://iter8-analytics.iter8:8080",
        "spec.targetService.apiVersion": "v1",
    }


def test_tutorial_round_trips() -> None:
    first = load_experiment(TUTORIAL)
    document = spec_to_iter8(first)
    assert load_experiment(yaml.safe_dump(document)) == first
    assert spec_from_iter8(document) == first
    assert document["apiVersion"] == "iter8.tools/v1alpha1"
    assert document["kind"] == "Experiment"
    assert document["spec"]["trafficControl"]["interval"] == "30s"
    assert document["spec"]["analysis"]["analyticsService"] == "http://iter8-analytics.iter8:8080"
    # No extension key is written when it holds its default.
    assert list(document["spec"]["analysis"]["successCriteria"][0]) == [
        "metricName",
        "toleranceType",
        "tolerance",
        "sampleSize",
        "stopOnFailure",
    ]


def test_spec_methods_delegate() -> None:
    spec = load_experiment(TUTORIAL)
    assert spec_to_iter8(spec) == spec_to_iter8(spec)
    assert spec_from_iter8(spec_to_iter8(spec)) == spec


# ---------------------------------------------------------------------------- sources


def test_load_from_str_path_pathlib_and_text(tmp_path: pathlib.Path) -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    file = tmp_path / "experiment.yaml"
    file.write_text(text, encoding="utf-8")
    from_str = load_experiment(str(file))
    from_path = load_experiment(file)
    from_text = load_experiment(text)
    assert from_str == from_path == from_text
    assert from_text.name == "reviews-v3-rollout"


def test_load_one_line_flow_yaml_text() -> None:
    text = (
        "{apiVersion: iter8.tools/v1alpha1, kind: Experiment, metadata: {name: e}, "
        "spec: {targetService: {name: s, baseline: a, candidate: b}}}"
    )
    assert load_experiment(text).candidate == "b"


def test_missing_file_pathlib_names_path(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError, match=r"no such file: .*nope\.yaml"):
        load_experiment(missing)


def test_missing_file_str_names_path() -> None:
    with pytest.raises(SpecError, match=r"no such file 'does-not-exist\.yaml'"):
        load_experiment("does-not-exist.yaml")


def test_empty_text() -> None:
    with pytest.raises(SpecError, match="YAML text is empty"):
        load_experiment("")


def test_source_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="`source` must be a path"):
        load_experiment(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- defaults


def test_defaults_fill_a_minimal_document() -> None:
    spec = load_experiment(MINIMAL)
    assert spec.traffic_control == TrafficControl()
    tc = spec.traffic_control
    assert tc.strategy == "check_and_increment"
    assert tc.interval == 60.0
    assert tc.step_size == 2.0
    assert tc.max_iterations == 100
    assert tc.max_traffic_percent == 50.0
    assert tc.on_success == "candidate"
    assert tc.confidence == 0.95
    assert spec.criteria == ()
    assert spec.effective_strategy == "increment_without_check"
    assert spec.extras == {}


def test_criterion_defaults() -> None:
    (criterion,) = spec_from_iter8(with_criterion()).criteria
    assert criterion.sample_size == 10.0
    assert criterion.stop_on_failure is False
    assert criterion == Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2)


def test_null_fields_read_as_absent() -> None:
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = {"interval": None, "trafficStepSize": None}
    doc["spec"]["analysis"] = None
    spec = spec_from_iter8(doc)
    assert spec.traffic_control == TrafficControl()
    assert spec.criteria == ()


def test_integer_and_float_numbers_both_accepted() -> None:
    doc = with_criterion(tolerance=1, sampleSize=6.0)
    doc["spec"]["trafficControl"] = {"trafficStepSize": 2.5, "maxIterations": 8.0}
    spec = spec_from_iter8(doc)
    assert spec.criteria[0].tolerance == 1.0
    assert spec.criteria[0].sample_size == 6.0
    assert spec.traffic_control.step_size == 2.5
    assert spec.traffic_control.max_iterations == 8
    assert isinstance(spec.traffic_control.max_iterations, int)


# ---------------------------------------------------------------------------- extension keys


@pytest.mark.parametrize(
    ("key", "value", "attr", "expected"),
    [
        ("method", "point", "method", "point"),
        ("confidence", 0.9, "confidence", 0.9),
        ("missing", "iter8", "missing", "iter8"),
        ("direction", "higher", "direction", "higher"),
        ("isCounter", True, "is_counter", True),
        ("absentValue", "None", "absent_value", "None"),
    ],
)
def test_extension_keys(key: str, value: Any, attr: str, expected: Any) -> None:
    doc = with_criterion(metricName="my_metric", **{key: value})
    (criterion,) = spec_from_iter8(doc).criteria
    assert getattr(criterion, attr) == expected
    assert criterion.extras == {}
    written = spec_to_iter8(spec_from_iter8(doc))["spec"]["analysis"]["successCriteria"][0]
    default = Criterion(metric="my_metric", tolerance_type="threshold", tolerance=0.0)
    if getattr(default, attr) == expected:
        assert key not in written
    else:
        assert written[key] == value


def test_extension_defaults_follow_the_metric() -> None:
    # iter8_error_count is a counter and absent_value "0.0" by default: nothing written.
    doc = with_criterion(metricName="iter8_error_count", tolerance=5)
    (criterion,) = spec_from_iter8(doc).criteria
    assert criterion.is_counter is True
    written = spec_to_iter8(spec_from_iter8(doc))["spec"]["analysis"]["successCriteria"][0]
    assert "isCounter" not in written
    assert "absentValue" not in written
    # ... while isCounter false on it is written back.
    doc = with_criterion(metricName="iter8_error_count", tolerance=5, isCounter=False)
    written = spec_to_iter8(spec_from_iter8(doc))["spec"]["analysis"]["successCriteria"][0]
    assert written["isCounter"] is False


def test_null_criterion_confidence_inherits() -> None:
    (criterion,) = spec_from_iter8(with_criterion(confidence=None)).criteria
    assert criterion.confidence is None


# ---------------------------------------------------------------------------- extras


def test_crd_fields_are_kept_without_warning() -> None:
    doc = minimal_doc()
    doc["metadata"].update(namespace="bookinfo", labels={"app": "reviews"})
    doc["spec"]["targetService"]["namespace"] = "bookinfo"
    doc["spec"]["analysis"] = {
        "analyticsService": "http://iter8-analytics.iter8:8080",
        "grafanaEndpoint": "http://grafana:3000",
        "reward": {"metricName": "conversion", "min_max": {"min": 0, "max": 1}},
        "successCriteria": [
            {
                "metricName": "iter8_error_rate",
                "toleranceType": "delta",
                "tolerance": 0.1,
                "min_max": {"min": 0, "max": 1},
            }
        ],
    }
    doc["spec"]["assessment"] = "override_success"
    doc["spec"]["cleanup"] = "delete"
    doc["spec"]["routingReference"] = {"kind": "VirtualService", "name": "reviews"}
    doc["status"] = {"phase": "Progressing", "currentIteration": 3}
    doc["metrics"] = {"iter8_latency": {"absent_value": "None", "is_counter": False}}
    spec = spec_from_iter8(doc)  # filterwarnings=error: any warning fails
    assert spec.extras == {
        "metadata.namespace": "bookinfo",
        "metadata.labels": {"app": "reviews"},
        "spec.targetService.namespace": "bookinfo",
        "spec.analysis.analyticsService": "http://iter8-analytics.iter8:8080",
        "spec.analysis.grafanaEndpoint": "http://grafana:3000",
        "spec.analysis.reward": {"metricName": "conversion", "min_max": {"min": 0, "max": 1}},
        "spec.assessment": "override_success",
        "spec.cleanup": "delete",
        "spec.routingReference": {"kind": "VirtualService", "name": "reviews"},
        "status": {"phase": "Progressing", "currentIteration": 3},
        "metrics": {"iter8_latency": {"absent_value": "None", "is_counter": False}},
    }
    assert spec.criteria[0].extras == {"min_max": {"min": 0, "max": 1}}
    back = spec_to_iter8(spec)
    assert back["status"] == doc["status"]
    assert back["metadata"] == doc["metadata"]
    assert back["spec"]["routingReference"] == doc["spec"]["routingReference"]
    assert back["spec"]["analysis"]["successCriteria"][0]["min_max"] == {"min": 0, "max": 1}
    assert spec_from_iter8(back) == spec


def test_extras_are_copies() -> None:
    doc = minimal_doc()
    doc["metadata"]["labels"] = {"app": "reviews"}
    spec = spec_from_iter8(doc)
    doc["metadata"]["labels"]["app"] = "changed"
    assert spec.extras["metadata.labels"] == {"app": "reviews"}
    spec_to_iter8(spec)["metadata"]["labels"]["app"] = "changed too"
    assert spec.extras["metadata.labels"] == {"app": "reviews"}


def test_typo_key_warns_once_is_kept_and_round_trips() -> None:
    text = MINIMAL + "  trafficControl:\n    trafficStepsize: 20\n"
    with pytest.warns(UnknownFieldWarning) as record:
        spec = load_experiment(text)
    assert len(record) == 1
    message = str(record[0].message)
    assert "`spec.trafficControl.trafficStepsize`" in message
    assert "did you mean `trafficStepSize`?" in message
    assert spec.traffic_control.step_size == 2.0  # the typo is not interpreted
    assert spec.extras == {"spec.trafficControl.trafficStepsize": 20}
    document = spec_to_iter8(spec)
    assert document["spec"]["trafficControl"]["trafficStepsize"] == 20
    with pytest.warns(UnknownFieldWarning, match=r"spec\.trafficControl\.trafficStepsize"):
        again = load_experiment(yaml.safe_dump(document))
    assert again == spec


def test_unknown_criterion_key_warns_with_index_and_is_kept() -> None:
    doc = with_criterion(stopOnFailur=True)
    with pytest.warns(
        UnknownFieldWarning,
        match=r"`spec\.analysis\.successCriteria\[0\]\.stopOnFailur` \(did you mean `stopOnFailure`",
    ):
        spec = spec_from_iter8(doc)
    assert spec.criteria[0].stop_on_failure is False
    assert spec.criteria[0].extras == {"stopOnFailur": True}
    with pytest.warns(UnknownFieldWarning):
        assert spec_from_iter8(spec_to_iter8(spec)) == spec


def test_unknown_key_without_a_close_match() -> None:
    doc = minimal_doc()
    doc["spec"]["zzz"] = [1, 2]
    with pytest.warns(UnknownFieldWarning, match=r"`spec\.zzz`") as record:
        spec = spec_from_iter8(doc)
    assert "did you mean" not in str(record[0].message)
    assert spec.extras == {"spec.zzz": [1, 2]}


def test_one_warning_per_unknown_key() -> None:
    doc = with_criterion(tolerence=0.3)
    doc["metadata"]["namespce"] = "x"
    doc["spec"]["trafficControl"] = {"intervall": "5m"}
    with pytest.warns(UnknownFieldWarning) as record:
        spec_from_iter8(doc)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 3
    assert any("`metadata.namespce` (did you mean `namespace`?)" in m for m in messages)
    assert any("`spec.trafficControl.intervall` (did you mean `interval`?)" in m for m in messages)
    assert any("successCriteria[0].tolerence` (did you mean `tolerance`?)" in m for m in messages)


def test_dotted_unknown_key_round_trips() -> None:
    doc = minimal_doc()
    doc["spec"]["a.b"] = 1
    with pytest.warns(UnknownFieldWarning):
        spec = spec_from_iter8(doc)
    assert spec_to_iter8(spec)["spec"]["a.b"] == 1
    with pytest.warns(UnknownFieldWarning):
        assert spec_from_iter8(spec_to_iter8(spec)) == spec


def test_extras_cannot_shadow_interpreted_fields() -> None:
    spec = load_experiment(MINIMAL)
    for path in ("spec.trafficControl.interval", "metadata.name", "spec", "kind"):
        bad = ExperimentSpec(
            name="e", target_service="s", baseline="a", candidate="b", extras={path: "x"}
        )
        with pytest.raises(SpecError, match="a field canarystats writes itself"):
            spec_to_iter8(bad)
    criterion = Criterion(
        metric="m", tolerance_type="threshold", tolerance=1.0, extras={"tolerance": 2.0}
    )
    with pytest.raises(SpecError, match="a field canarystats writes itself"):
        spec_to_iter8(ExperimentSpec(**{**_identity(spec), "criteria": [criterion]}))


def _identity(spec: ExperimentSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "target_service": spec.target_service,
        "baseline": spec.baseline,
        "candidate": spec.candidate,
    }


# ---------------------------------------------------------------------------- errors


def _tutorial_text() -> str:
    return TUTORIAL.read_text(encoding="utf-8")


def test_bad_yaml_gives_line_and_column() -> None:
    text = _tutorial_text().replace("trafficStepSize: 20", "trafficStepSize: [20")
    with pytest.raises(SpecError, match=r"^malformed YAML in YAML text at line \d+, column \d+: "):
        load_experiment(text)


def test_bad_yaml_in_a_file_names_it(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("a: b: c\n", encoding="utf-8")
    with pytest.raises(
        SpecError, match=r"malformed YAML in file '.*bad\.yaml' at line 1, column 5"
    ):
        load_experiment(file)


def test_bad_yaml_message_is_one_line() -> None:
    with pytest.raises(SpecError) as info:
        load_experiment("a: [1, 2\nb: 3\n")
    assert "\n" not in str(info.value)


def test_several_documents_are_rejected() -> None:
    with pytest.raises(SpecError, match="expected a single document"):
        load_experiment(MINIMAL + "---\n" + MINIMAL)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_not_a_mapping(text: str) -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        load_experiment(text)


def test_not_a_mapping_from_python() -> None:
    with pytest.raises(SpecError, match="must be a mapping"):
        spec_from_iter8(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_wrong_kind() -> None:
    with pytest.raises(SpecError, match=r"`kind` must be 'Experiment', got 'Deployment'"):
        load_experiment(_tutorial_text().replace("kind: Experiment", "kind: Deployment"))


def test_wrong_api_version() -> None:
    text = _tutorial_text().replace("iter8.tools/v1alpha1", "iter8.tools/v2alpha1")
    with pytest.raises(SpecError, match=r"`apiVersion` must be 'iter8.tools/v1alpha1'.*v2alpha1"):
        load_experiment(text)


def test_missing_api_version() -> None:
    doc = minimal_doc()
    del doc["apiVersion"]
    with pytest.raises(SpecError, match=r"`apiVersion` .* it is missing"):
        spec_from_iter8(doc)


@pytest.mark.parametrize(
    "field", ["baseline", "candidate", "name"], ids=lambda f: f"targetService.{f}"
)
def test_missing_target_service_field(field: str) -> None:
    doc = minimal_doc()
    del doc["spec"]["targetService"][field]
    with pytest.raises(SpecError, match=rf"`spec\.targetService\.{field}` is required"):
        spec_from_iter8(doc)


def test_missing_sections() -> None:
    doc = minimal_doc()
    del doc["spec"]["targetService"]
    with pytest.raises(SpecError, match=r"`spec\.targetService` is required"):
        spec_from_iter8(doc)
    doc = minimal_doc()
    del doc["metadata"]
    with pytest.raises(SpecError, match=r"`metadata` is required"):
        spec_from_iter8(doc)
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = "fast"
    with pytest.raises(SpecError, match=r"`spec\.trafficControl` must be a mapping, got 'fast'"):
        spec_from_iter8(doc)


def test_empty_name() -> None:
    doc = minimal_doc()
    doc["metadata"]["name"] = ""
    with pytest.raises(SpecError, match=r"`metadata\.name` must be a non-empty string, got ''"):
        spec_from_iter8(doc)


@pytest.mark.parametrize(
    ("interval", "pattern"),
    [
        ("1d", r"`spec\.trafficControl\.interval` must be a positive Go duration .*got '1d'"),
        ("0s", r"`spec\.trafficControl\.interval` must be a positive Go duration .*got '0s'"),
        (30, r"`spec\.trafficControl\.interval` must be a positive Go duration .*got 30"),
    ],
)
def test_bad_interval(interval: Any, pattern: str) -> None:
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = {"interval": interval}
    with pytest.raises(SpecError, match=pattern):
        spec_from_iter8(doc)


def test_string_yes_is_not_a_boolean() -> None:
    text = _tutorial_text().replace("sampleSize: 6", "sampleSize: 6\n        stopOnFailure: 'yes'")
    with pytest.raises(
        SpecError,
        match=r"`spec\.analysis\.successCriteria\[0\]\.stopOnFailure` must be true or false, "
        r"got 'yes'",
    ):
        load_experiment(text)


def test_yaml_boolean_stop_on_failure() -> None:
    text = _tutorial_text().replace("sampleSize: 6", "sampleSize: 6\n        stopOnFailure: true")
    assert load_experiment(text).criteria[0].stop_on_failure is True


@pytest.mark.parametrize(
    ("replacement", "pattern"),
    [
        (
            "trafficStepSize: -5",
            r"`spec\.trafficControl\.trafficStepSize` must be a finite number in \(0\.0, 100\.0\], "
            r"got -5\.0",
        ),
        (
            "trafficStepSize: abc",
            r"`spec\.trafficControl\.trafficStepSize` must be a number in \(0, 100\], got 'abc'",
        ),
        ("trafficStepSize: true", r"`spec\.trafficControl\.trafficStepSize` .* got True"),
        ("trafficStepSize: 200", r"`spec\.trafficControl\.trafficStepSize` .* got 200\.0"),
    ],
)
def test_bad_step_size(replacement: str, pattern: str) -> None:
    with pytest.raises(SpecError, match=pattern):
        load_experiment(_tutorial_text().replace("trafficStepSize: 20", replacement))


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        ("maxIterations", 8.5, r"`spec\.trafficControl\.maxIterations` must be an integer >= 0"),
        ("maxIterations", -1, r"`spec\.trafficControl\.maxIterations` must be an integer >= 0"),
        ("maxTrafficPercentage", 101, r"`spec\.trafficControl\.maxTrafficPercentage` must be"),
        ("onSuccess", "all", r"`spec\.trafficControl\.onSuccess` must be one of"),
        ("confidence", 1.0, r"`spec\.trafficControl\.confidence` must be a finite number in"),
        ("strategy", "canary", r"`spec\.trafficControl\.strategy` must be one of"),
    ],
)
def test_bad_traffic_control_values(key: str, value: Any, pattern: str) -> None:
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = {key: value}
    with pytest.raises(SpecError, match=pattern):
        spec_from_iter8(doc)


@pytest.mark.parametrize("strategy", ["posterior_bayesian_routing", "optimistic_bayesian_routing"])
def test_bayesian_routing_strategies_load(strategy: str) -> None:
    # implemented in canarystats.strategies.bandits (tests/test_routing.py); CRD name = ours
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = {"strategy": strategy}
    assert spec_from_iter8(doc).traffic_control.strategy == strategy


def test_unknown_strategy_lists_the_routing_names() -> None:
    doc = minimal_doc()
    doc["spec"]["trafficControl"] = {"strategy": "thompson"}
    with pytest.raises(
        SpecError,
        match=r"`spec\.trafficControl\.strategy` must be one of \[.*'posterior_bayesian_routing', "
        r"'optimistic_bayesian_routing', 'top_k_routing'\], got 'thompson'",
    ):
        spec_from_iter8(doc)


def test_unknown_tolerance_type() -> None:
    with pytest.raises(
        SpecError,
        match=r"`spec\.analysis\.successCriteria\[0\]\.toleranceType` must be one of "
        r"\['threshold', 'delta'\], got 'ratio'",
    ):
        spec_from_iter8(with_criterion(toleranceType="ratio"))


def test_delta_on_error_count() -> None:
    doc = with_criterion(metricName="iter8_error_count", toleranceType="delta", tolerance=0.1)
    with pytest.raises(
        SpecError,
        match=r"`spec\.analysis\.successCriteria\[0\]\.toleranceType` 'delta' is not allowed on "
        r"the counter metric 'iter8_error_count'",
    ):
        spec_from_iter8(doc)


@pytest.mark.parametrize(
    ("fields", "pattern"),
    [
        ({"tolerance": [0.1, 0.2]}, r"successCriteria\[0\]\.tolerance` must be a number, got \["),
        ({"tolerance": "0.2"}, r"successCriteria\[0\]\.tolerance` must be a number, got '0\.2'"),
        ({"sampleSize": -1}, r"successCriteria\[0\]\.sampleSize` must be .*got -1\.0"),
        ({"method": "magic"}, r"successCriteria\[0\]\.method` must be one of \['point'.*\], got 'magic'"),
        ({"confidence": 1.5}, r"successCriteria\[0\]\.confidence` must be .*got 1\.5"),
        ({"missing": "zero"}, r"successCriteria\[0\]\.missing` must be one of"),
        ({"direction": "up"}, r"successCriteria\[0\]\.direction` must be one of"),
        ({"isCounter": "no"}, r"successCriteria\[0\]\.isCounter` must be true or false"),
        ({"absentValue": 0.0}, r"successCriteria\[0\]\.absentValue` must be a string"),
        ({"metricName": 7}, r"successCriteria\[0\]\.metricName` must be a non-empty string"),
        ({"toleranceType": "delta", "tolerance": -0.1}, r"successCriteria\[0\]\.tolerance` of a"),
    ],
)
def test_bad_criterion_values(fields: dict[str, Any], pattern: str) -> None:
    with pytest.raises(SpecError, match=pattern):
        spec_from_iter8(with_criterion(**fields))


@pytest.mark.parametrize("key", ["metricName", "toleranceType", "tolerance"])
def test_missing_required_criterion_key(key: str) -> None:
    doc = with_criterion()
    del doc["spec"]["analysis"]["successCriteria"][0][key]
    with pytest.raises(SpecError, match=rf"successCriteria\[0\]\.{key}` is required"):
        spec_from_iter8(doc)


def test_success_criteria_must_be_a_list() -> None:
    doc = minimal_doc()
    doc["spec"]["analysis"] = {"successCriteria": {"metricName": "iter8_latency"}}
    with pytest.raises(SpecError, match=r"`spec\.analysis\.successCriteria` must be a list"):
        spec_from_iter8(doc)


@pytest.mark.parametrize(
    ("where", "pattern"),
    [
        ("tolerance", r"`criteria\[0\]\.tolerance` is an array of shape \(2,\)"),
        ("step_size", r"`traffic_control\.step_size` is an array of shape \(2,\)"),
    ],
)
def test_array_spec_to_iter8(where: str, pattern: str) -> None:
    grid = np.array([0.1, 0.2])
    tolerance = grid if where == "tolerance" else 0.2
    tc = TrafficControl(step_size=grid * 100) if where == "step_size" else TrafficControl()
    spec = ExperimentSpec(
        name="e",
        target_service="s",
        baseline="a",
        candidate="b",
        traffic_control=tc,
        criteria=[
            Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=tolerance)
        ],
    )
    with pytest.raises(SpecError, match=pattern):
        spec_to_iter8(spec)


# ---------------------------------------------------------------------------- properties

_NAMES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True)
_METRICS = st.sampled_from(
    ["iter8_latency", "iter8_error_rate", "iter8_error_count", "iter8_sample_size", "conversion"]
)
_UNIT_FLOATS = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_SPEC_EXTRA_PATHS = [
    "metadata.namespace",
    "metadata.labels",
    "metadata.annotations",
    "spec.analysis.analyticsService",
    "spec.analysis.grafanaEndpoint",
    "spec.analysis.reward",
    "spec.targetService.apiVersion",
    "spec.targetService.namespace",
    "spec.routingReference",
    "spec.assessment",
    "spec.cleanup",
    "status",
    "metrics",
    "spec.trafficControl.routerID",  # not in v0.1: warns, kept
    "spec.somethingNew",  # unknown: warns, kept
]


@st.composite
def criteria(draw: st.DrawFn) -> Criterion:
    metric = draw(_METRICS)
    is_counter = draw(st.none() | st.booleans())
    counter = is_counter if is_counter is not None else metric == "iter8_error_count"
    tolerance_type = "threshold" if counter else draw(st.sampled_from(["threshold", "delta"]))
    direction = draw(st.sampled_from(["lower", "higher"]))
    if tolerance_type == "delta":
        high = 1.0 if direction == "higher" else 10.0
        tolerance = draw(st.floats(0.0, high))
    else:
        tolerance = draw(st.floats(-1e6, 1e6) | st.integers(0, 1000).map(float))
    kwargs: dict[str, Any] = {
        "metric": metric,
        "tolerance_type": tolerance_type,
        "tolerance": tolerance,
        "direction": direction,
        "sample_size": draw(st.integers(0, 10_000).map(float) | st.floats(0.0, 1e6)),
        "stop_on_failure": draw(st.booleans()),
        "method": "point",
        "confidence": draw(st.none() | _UNIT_FLOATS),
        "missing": draw(st.sampled_from(["inconclusive", "iter8"])),
        "extras": draw(
            st.dictionaries(st.sampled_from(["min_max", "note", "weight"]), _JSON, max_size=2)
        ),
    }
    if is_counter is not None:
        kwargs["is_counter"] = is_counter
    absent = draw(st.none() | st.sampled_from(["0.0", "None", "1.5", "nan"]))
    if absent is not None:
        kwargs["absent_value"] = absent
    return Criterion(**kwargs)


@st.composite
def experiment_specs(draw: st.DrawFn) -> ExperimentSpec:
    interval_ms = draw(st.integers(1, 10**9))  # whole milliseconds, up to ~11.6 days
    tc = TrafficControl(
        strategy=draw(st.sampled_from(["check_and_increment", "increment_without_check"])),
        interval=draw(st.sampled_from([interval_ms / 1000, f"{interval_ms}ms"])),
        step_size=draw(st.floats(0.0, 100.0, exclude_min=True) | st.integers(1, 100).map(float)),
        max_iterations=draw(st.integers(0, 1000)),
        max_traffic_percent=draw(st.floats(0.0, 100.0) | st.integers(0, 100).map(float)),
        on_success=draw(st.sampled_from(["candidate", "baseline", "both"])),
        confidence=draw(_UNIT_FLOATS),
    )
    return ExperimentSpec(
        name=draw(_NAMES),
        target_service=draw(_NAMES),
        baseline=draw(_NAMES),
        candidate=draw(_NAMES),
        traffic_control=tc,
        criteria=draw(st.lists(criteria(), max_size=4)),
        extras=draw(st.dictionaries(st.sampled_from(_SPEC_EXTRA_PATHS), _JSON, max_size=3)),
    )


@settings(deadline=None)
@given(experiment_specs())
def test_round_trip_property(spec: ExperimentSpec) -> None:
    document = spec_to_iter8(spec)
    snapshot = copy.deepcopy(document)
    assert quiet_load(document) == spec
    assert document == snapshot  # loading does not modify the document
    # Through YAML text, as a user would store it.
    text = yaml.safe_dump(document, sort_keys=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownFieldWarning)
        assert load_experiment(text) == spec
    # And to_iter8 is stable: writing the loaded spec gives the same document.
    assert spec_to_iter8(quiet_load(document)) == document


@settings(deadline=None)
@given(experiment_specs())
def test_documents_are_plain_python(spec: ExperimentSpec) -> None:
    document = spec_to_iter8(spec)
    tc = document["spec"]["trafficControl"]
    assert isinstance(tc["maxIterations"], int)
    assert all(type(tc[k]) in (int, float) for k in ("trafficStepSize", "maxTrafficPercentage"))
    assert isinstance(tc["interval"], str)
    for criterion in document["spec"].get("analysis", {}).get("successCriteria", []):
        assert type(criterion["stopOnFailure"]) is bool
        assert type(criterion["tolerance"]) in (int, float)
