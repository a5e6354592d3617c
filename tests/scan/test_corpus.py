"""Accuracy on the labelled corpus: precision and recall per family and per rule."""

from __future__ import annotations

from collections import Counter

import pytest

from ledger.scan import RULES, scan
from tests.scan.conftest import CORPUS, expected_labels

THRESHOLDS = {"JWT": (0.9, 0.9), "BOLA": (0.8, 0.7)}
"""Minimum (precision, recall) per family."""


def _confusion() -> tuple[Counter[str], Counter[str], Counter[str]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    # Each application is its own project, as it would be in its own repository.
    for app in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        expected = expected_labels(app)
        report = scan([app])
        found = {(f.path, f.line, f.rule.id) for f in report.active}
        for _, _, rule in found & expected:
            tp[rule] += 1
        for _, _, rule in found - expected:
            fp[rule] += 1
        for _, _, rule in expected - found:
            fn[rule] += 1
    return tp, fp, fn


@pytest.fixture(scope="module")
def confusion() -> tuple[Counter[str], Counter[str], Counter[str]]:
    tp, fp, fn = _confusion()
    print("\nrule      TP  FP  FN")
    for rule in RULES:
        print(f"{rule:8} {tp[rule]:3} {fp[rule]:3} {fn[rule]:3}")
    return tp, fp, fn


@pytest.mark.parametrize("family", sorted(THRESHOLDS))
def test_family_precision_and_recall(
    family: str, confusion: tuple[Counter[str], Counter[str], Counter[str]]
) -> None:
    tp, fp, fn = (
        sum(n for rule, n in counter.items() if RULES[rule].family == family)
        for counter in confusion
    )
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\n{family}: TP={tp} FP={fp} FN={fn} precision={precision:.3f} recall={recall:.3f}")
    min_precision, min_recall = THRESHOLDS[family]
    assert precision >= min_precision
    assert recall >= min_recall


@pytest.mark.parametrize("rule", [r for r in RULES if RULES[r].family in THRESHOLDS])
def test_every_rule_has_a_true_positive(
    rule: str, confusion: tuple[Counter[str], Counter[str], Counter[str]]
) -> None:
    assert confusion[0][rule] >= 1, f"{rule} has no true positive in the corpus"


def test_labels_name_known_rules() -> None:
    for app in CORPUS.iterdir():
        if app.is_dir():
            for path, line, rule in expected_labels(app):
                assert rule in RULES, f"{app.name}/{path}:{line}: unknown rule {rule}"
