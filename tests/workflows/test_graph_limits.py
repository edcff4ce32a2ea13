"""Oversized, over-nested and non-JSON input is refused with one clear sentence."""

import json

import pytest

from workflows.graph import GraphValidationError, graph_parse, graph_problems


def big_graph(nodes: int) -> dict:
    graph = {"1": {"class_type": "LoadImage", "inputs": {"image": "INPUT_FILENAME"}}}
    for i in range(2, nodes + 1):
        graph[str(i)] = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
    return graph


def test_invalid_json_is_explained():
    with pytest.raises(GraphValidationError) as exc:
        graph_parse('{"1": {"class_type": "LoadImage",')
    assert "not valid JSON" in exc.value.messages[0]


def test_a_five_megabyte_graph_is_refused_before_parsing():
    text = json.dumps({"1": {"class_type": "X", "inputs": {"t": "a" * (5 * 1024 * 1024)}}})
    with pytest.raises(GraphValidationError) as exc:
        graph_parse(text)
    assert "up to 1 MB" in exc.value.messages[0]


def test_ten_thousand_nodes_are_refused():
    [problem] = graph_problems(big_graph(10_000))
    assert "10,000 nodes" in str(problem) and "at most 500" in str(problem)


def test_deep_nesting_is_refused_when_parsing_and_validating():
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(GraphValidationError) as exc:
        graph_parse('{"1": {"class_type": "X", "inputs": {"v": ' + deep + "}}}")
    assert "nested more than 20 levels" in exc.value.messages[0]
    value: list = []
    for _ in range(30):
        value = [value]
    [problem] = graph_problems({"1": {"class_type": "SaveImage", "inputs": {"v": value}}})
    assert "nested more than 20 levels" in str(problem)


def test_non_objects_are_refused():
    with pytest.raises(GraphValidationError):
        graph_parse("[1, 2, 3]")
    assert graph_problems(["not", "a", "graph"])


def test_nan_is_not_json():
    with pytest.raises(GraphValidationError):
        graph_parse('{"1": {"class_type": "X", "inputs": {"v": NaN}}}')
