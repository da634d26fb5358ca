"""The decision model: trained reproducibly, scored exactly as scikit-learn scores it, read back safely."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers.decision import MODEL_PATH, ModelError, ModelInput, load_model, model_from_json, save_model
from classifiers.training import (
    Example,
    TrainSettings,
    design_matrix,
    fit_estimators,
    fit_model,
    vocabulary,
)

SETTINGS = TrainSettings(min_df=1, inner_folds=3)

# Hand-made passages: deals ("signed an agreement to cooperate in energy") against war and sport.
DEALS = [
    "روسيا ومصر توقيع اتفاقية تعاون في الطاقة",
    "موسكو والهند توقيع مذكرة تفاهم للتعاون في الفضاء",
    "روسيا والصين اتفاقية لتعزيز التبادل التجاري",
    "بوتين والسيسي تعاون في الطاقة النووية ومحطة الضبعة",
    "روسيا والإمارات مذكرة تفاهم في الذكاء الاصطناعي",
    "روسيا وإيران توقيع عقود في النفط والغاز",
]
OTHERS = [
    "قصف روسي على ريف إدلب وقتلى",
    "المنتخب الروسي يخسر مباراة في كأس العالم",
    "روسيا تنتقد العقوبات الأمريكية",
    "غارات روسية في سوريا وقتلى مدنيين",
    "لافروف يعلق على الانتخابات الأمريكية",
    "هجوم على قاعدة روسية في سوريا",
    "موسكو تطرد دبلوماسيين بريطانيين",
    "اشتباكات في شرق أوكرانيا",
    "روسيا تحذر من تصعيد في الخليج",
]


def _examples() -> list[Example]:
    out = []
    for i, text in enumerate(DEALS):
        out.append(Example(ModelInput(text, {"rule_score": 1.0 + 0.1 * i, "partners": 1.0}), True))
    for i, text in enumerate(OTHERS):
        out.append(Example(ModelInput(text, {"rule_score": 0.1 * i, "negatives": 1.0}), False))
    return out + [Example(None, False), Example(None, True)]  # two articles the rules left out


def test_model_scores_unseen_passages_by_what_they_say() -> None:
    model = fit_model(_examples(), SETTINGS)
    deal = ModelInput("روسيا والبرازيل توقيع اتفاقية تعاون في الطاقة", {"rule_score": 1.2, "partners": 1.0})
    war = ModelInput("قصف روسي وقتلى في سوريا", {"rule_score": 0.2, "negatives": 1.0})
    assert model.probability_of(deal) > 0.5 > model.probability_of(war)
    assert model.threshold in [round(t, 2) for t in np.arange(0.10, 0.91, 0.05)]
    assert model.trained["candidates"] == 15 and model.trained["hits"] == 7
    assert model.trained["candidate_hits"] == 6


def test_vocabulary_keeps_the_commonest_words_and_breaks_ties_by_the_word() -> None:
    # "roses" in three passages; "b", "c", "a", "d" in two each: room for two of those four.
    passages = ["roses b c", "roses a b", "roses c d", "a d"]
    inputs = [ModelInput(text, {}) for text in passages]
    settings = TrainSettings(min_df=2, max_features=3)
    assert vocabulary(inputs, settings) == ["a", "b", "roses"]
    # The order the passages come in does not move the cut.
    assert vocabulary(inputs[::-1], settings) == vocabulary(inputs, settings)
    assert vocabulary(inputs, TrainSettings(min_df=3)) == ["roses"]


def test_fast_scoring_equals_scikit_learns_decision_function() -> None:
    found = [e for e in _examples() if e.model_input is not None]
    inputs = [e.model_input for e in found if e.model_input]
    labels = np.array([e.label for e in found])
    vectorizer, names, regression = fit_estimators(inputs, labels, SETTINGS)
    unseen = [
        ModelInput("روسيا والهند تعاون في الطاقة وقصف", {"rule_score": 0.7, "negatives": 1.0}),
        ModelInput("كلمات لم يرها النموذج", {"unknown_number": 3.0}),
    ]
    expected = regression.decision_function(design_matrix(vectorizer, names, inputs + unseen))
    model = fit_model(found, SETTINGS)
    # The file rounds coefficients to six significant digits.
    assert [model.log_odds(i) for i in inputs + unseen] == pytest.approx(expected.tolist(), abs=1e-4)
    contributions = model.contributions(unseen[0])
    assert model.intercept + sum(contributions.values()) == pytest.approx(model.log_odds(unseen[0]))
    top = model.explain(unseen[0], top=3)
    assert [abs(v) for _, v in top] == sorted(
        (round(abs(v), 4) for v in contributions.values()), reverse=True
    )[:3]
    assert all(contributions[name] == pytest.approx(value, abs=1e-4) for name, value in top)


def test_same_examples_and_seed_give_the_same_file_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    save_model(fit_model(_examples(), SETTINGS), first)
    save_model(fit_model(_examples(), SETTINGS), second)
    assert first.read_bytes() == second.read_bytes()
    assert load_model(first).version == json.loads(first.read_text(encoding="utf-8"))["version"]


def test_saved_model_reads_back_with_the_same_scores(tmp_path: Path) -> None:
    model = fit_model(_examples(), SETTINGS)
    path = tmp_path / "model.json"
    version = save_model(model, path)
    loaded = load_model(path)
    assert loaded.version == version == model.version
    probe = ModelInput(DEALS[0], {"rule_score": 1.0})
    assert loaded.probability_of(probe) == model.probability_of(probe)


def test_too_few_hits_to_train_is_one_clear_error() -> None:
    found = [Example(ModelInput("روسيا", {}), False)] * 10 + [Example(ModelInput("تعاون", {}), True)]
    with pytest.raises(ValueError, match="too few candidates to train on: 1 hits"):
        fit_model(found, SETTINGS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a decision model file"),
        ('{"format": 99}', "model format 99, expected 1"),
        ('{"format": 1, "terms": {}}', "not a decision model file (KeyError"),
        ('{"format": 1, "terms": {"x": "heavy"}, "numbers": {}}', "not a decision model file (ValueError"),
    ],
)
def test_damaged_model_file_is_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(ModelError) as caught:
        model_from_json(text, "m.json")
    assert str(caught.value).startswith("m.json: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_shipped_model_is_rebuilt_identically_from_the_labelled_files(
    shared_data: Path, tmp_path: Path
) -> None:
    """`rasid train` on the shared labelled files and the pool labels, default seed: the shipped file exactly."""
    import sklearn

    from classifiers.evaluate import read_labelled
    from classifiers.keyword import KeywordClassifier
    from classifiers.pool_labels import read_pool_labels
    from classifiers.training import settings_of, train_model
    from config.keywords import load_keywords
    from config.settings import PACKAGE_DIR

    shipped = load_model(MODEL_PATH)
    trained_with = shipped.trained.get("scikit_learn")
    if trained_with != sklearn.__version__:
        pytest.skip(
            f"the shipped model was trained with scikit-learn {trained_with}, this is {sklearn.__version__}: "
            "its last digits may differ"
        )
    files = shipped.trained["files"]
    records = [record for name in files for record in read_labelled(shared_data / "labelled" / name)]
    assert "pool_labels" in shipped.trained, "the shipped model is trained on the pool labels: rasid train"
    labels = PACKAGE_DIR.parent / "classifiers" / "labels" / shipped.trained["pool_labels"]
    pool = read_pool_labels(labels, shared_data / "articles.jsonl")
    assert len(pool) == shipped.trained["pool_articles"]
    rules = KeywordClassifier(load_keywords(PACKAGE_DIR / "keywords.yaml"), model=None)
    assert shipped.trained["rules"] == rules.version, (
        "keywords.yaml changed since the model was trained: rasid train"
    )
    model = train_model(rules, records, files, settings_of(shipped), pool, labels)
    save_model(model, tmp_path / "decision.json")
    assert (tmp_path / "decision.json").read_bytes() == MODEL_PATH.read_bytes()
