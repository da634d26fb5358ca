"""The keyword classifier: the five target stories are hits with the right partner and fields, and the
typical hard negatives (war, sanctions, sport, a summit about a war, Russia Today as a source,
cooperation between two other countries) are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.keyword import KeywordClassifier
from classifiers.verdict import Verdict
from config.keywords import load_keywords
from config.settings import PACKAGE_DIR

EXAMPLES = {
    # file stem prefix: (partner, sectors that must be among the verdict's)
    "000": ("UAE", {"ai", "technology", "investment"}),
    "001": ("Iran", {"technology"}),
    "002": ("UAE", {"industry"}),
    "003": ("China", {"science", "technology", "trade"}),
    "004": ("UAE", {"defence"}),
}


@pytest.fixture(scope="module")
def clf() -> KeywordClassifier:
    return KeywordClassifier(load_keywords(PACKAGE_DIR / "keywords.yaml"))


def _example(shared_data: Path, prefix: str) -> tuple[str, str]:
    path = next((shared_data.parent / "examples").glob(f"{prefix}_*.txt"))
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title, body


@pytest.mark.parametrize("prefix", sorted(EXAMPLES))
def test_each_target_story_is_a_hit_with_its_partner_and_sectors(
    clf: KeywordClassifier, shared_data: Path, prefix: str
) -> None:
    partner, sectors = EXAMPLES[prefix]
    verdict = clf.classify(*_example(shared_data, prefix))
    assert verdict.is_hit
    assert verdict.partners[0] == partner
    assert sectors <= set(verdict.sectors)
    assert verdict.score >= clf.keywords.threshold


def test_hit_reports_matches_in_the_original_spelling_with_their_sentences(clf: KeywordClassifier) -> None:
    # "Russia and Egypt sign an agreement on cooperation in nuclear energy"
    title = "روسيا ومصر توقعان اتفاقية للتعاون في مجال الطاقة النووية"
    text = "وقّع الجانبان في القاهرة اتفاقية تعاون لبناء محطة الضبعة النووية بمشاركة شركة روساتوم الروسية."
    verdict = clf.classify(title, text)
    assert verdict.is_hit
    assert verdict.partners == ("Egypt",)
    assert "energy" in verdict.sectors
    assert verdict.classifier_version == clf.version
    surfaces = {(m.group, m.surface, m.where) for m in verdict.matches}
    assert ("russia", "روسيا", "title") in surfaces
    assert ("partner:Egypt", "ومصر", "title") in surfaces
    assert ("russia", "روساتوم", "lead") in surfaces
    # the diacritic in وقّع stays in the reported sentence, as published
    assert text in verdict.evidence
    assert all(m.sentence in (title, text) for m in verdict.matches)


@pytest.mark.parametrize(
    "title,text",
    [
        pytest.param(
            "غارات روسية على إدلب",  # Russian strikes on Idlib
            "شنت الطائرات الروسية غارات على مواقع المعارضة السورية في إدلب، ما أسفر عن قتلى وجرحى. "
            "وقالت موسكو إن الضربات استهدفت مسلحين.",
            id="war",
        ),
        pytest.param(
            "واشنطن تفرض عقوبات جديدة على شركات روسية",  # new US sanctions on Russian companies
            "فرضت الولايات المتحدة عقوبات على شركات روسية بسبب التدخل الروسي في الانتخابات، "
            "وردت موسكو بطرد دبلوماسيين أمريكيين.",
            id="sanctions",
        ),
        pytest.param(
            "روسيا تفتتح كأس العالم بفوز كبير على السعودية",  # World Cup opening match
            "افتتح المنتخب الروسي مباريات المونديال في موسكو بفوز على المنتخب السعودي بخمسة أهداف في الملعب.",
            id="sport",
        ),
        pytest.param(
            "ترامب وبوتين يعقدان قمة في هلسنكي",  # Trump-Putin summit about interference
            "التقى الرئيس الأمريكي دونالد ترامب نظيره الروسي فلاديمير بوتين في قمة هلسنكي، "
            "وبحثت القمة اتهامات التدخل الروسي في الانتخابات الأمريكية.",
            id="summit-about-a-dispute",
        ),
        pytest.param(
            "الإمارات وإثيوبيا توقعان مذكرات تفاهم لتعزيز التعاون",  # UAE-Ethiopia MoUs, no Russia
            "وقعت الإمارات وإثيوبيا مذكرات تفاهم في مجالات الطاقة والتجارة والاستثمار، "
            "حسبما نقلت روسيا اليوم.",
            id="cooperation-without-russia-cited-from-russia-today",
        ),
        pytest.param(
            # a Saudi-Egypt deal with Russia teasers at the end
            "السعودية ومصر توقعان اتفاقيات للتعاون في الطاقة",
            "وقعت السعودية ومصر اليوم اتفاقيات في مجالات الطاقة والنقل والإسكان "
            "خلال زيارة ولي العهد إلى القاهرة.\n"
            "وأكد الجانبان أهمية تعزيز التعاون الاقتصادي بين البلدين في السنوات المقبلة.\n"
            "وأشاد المسؤولون بحجم الاستثمارات المشتركة التي تجاوزت عشرين مليار دولار.\n"
            # two teaser headlines of other stories appended by the outlet, each a Russia deal on its own
            "روسيا والصين توقعان اتفاقية للتعاون التجاري\n"
            "مصر وروسيا تبحثان التعاون في الطاقة النووية",
            id="passing-mention-in-a-teaser",
            # The rules damp it (score 0.8), but the trained model reads two deal headlines and flags it:
            # leaving out candidates that name Russia only in the tail cost 2 labelled hits in CV
            # (bench/results/classify.md), so the model decides these too. A known weakness.
            marks=pytest.mark.xfail(reason="the decision model flags teaser-only Russia deals", strict=True),
        ),
        pytest.param(
            "لافروف يستقبل وفدا من حركة حماس في موسكو",  # Lavrov receives a Hamas delegation
            "استقبل وزير الخارجية الروسي سيرغي لافروف في موسكو وفدا من حركة حماس، "
            "وبحث الجانبان تطوير العلاقات والأوضاع في غزة.",
            id="non-state-actor-is-no-partner",
        ),
        pytest.param(
            "تركيا وروسيا تتفقان على منطقة منزوعة السلاح",  # a Turkish-Russian buffer-zone deal
            "اتفقت روسيا وتركيا على إقامة منطقة منزوعة السلاح بعمق 15 كيلومترا "
            "وعلى تسيير دوريات مشتركة لتجنب هجوم عسكري.",
            id="ceasefire-arrangement-about-a-war",
        ),
        pytest.param(
            # a Turkish trade story that names Russia in one clause of its lead
            "أردوغان: تركيا ستتعامل بالعملات المحلية في تجارتها مع إيران والصين",
            "قال الرئيس التركي رجب طيب أردوغان إن بلاده ستبدأ استخدام العملات المحلية في التبادل التجاري "
            "مع إيران والصين، وإنها تبحث الأمر نفسه مع روسيا.\n"
            "وأضاف أن الحروب التجارية تفرض على تركيا استراتيجيات جديدة لحماية اقتصادها.\n"
            "وأكد أن الاقتصاد التركي سيخرج من المرحلة الحالية أقوى مما كان عليه.\n"
            "وتراجعت الليرة التركية أمام الدولار خلال الأسابيع الماضية بسبب الأزمة مع واشنطن.\n"
            "ويرى خبراء أن التعامل بالعملات المحلية قد يخفف الضغط على احتياطي العملات الأجنبية.",
            id="russia-in-one-passing-clause",
            # The rules damp it (score 2.0, under 3), but the model trained with the pool labels, whose hits
            # include a real Turkish story of trade in local currencies with Russia, gives 0.52 against its
            # threshold of 0.45 (the model before it: under its threshold). A known weakness of one clause.
            marks=pytest.mark.xfail(reason="the decision model flags a one-clause mention", strict=True),
        ),
        pytest.param(
            "الرئيس السوداني يزور روسيا غدا",  # a visit announced without any content
            "قال مصدر في الحكومة السودانية إن الرئيس السوداني سيزور روسيا غدا "
            "ويلتقي الرئيس الروسي فلاديمير بوتين، دون الإدلاء بمزيد من التفاصيل.",
            id="visit-without-content",
        ),
    ],
)
def test_typical_hard_negative_is_not_a_hit(clf: KeywordClassifier, title: str, text: str) -> None:
    verdict = clf.classify(title, text)
    assert not verdict.is_hit, (verdict.score, verdict.evidence)


def test_article_without_russia_costs_no_matches(clf: KeywordClassifier) -> None:
    verdict = clf.classify("أمطار غزيرة في جدة", "هطلت أمطار غزيرة على جدة اليوم وأغلقت بعض الطرق.")
    assert verdict == Verdict(is_hit=False, score=0.0, classifier_version=clf.version)


def test_empty_and_non_arabic_input_gives_a_verdict(clf: KeywordClassifier) -> None:
    assert not clf.classify("", "").is_hit
    assert not clf.classify("Russia and China sign a deal", "Moscow, Beijing.").is_hit


def test_version_changes_with_the_keywords_file(tmp_path: Path, clf: KeywordClassifier) -> None:
    text = (PACKAGE_DIR / "keywords.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "keywords.yaml"
    edited.write_text(text + "\n# an analyst's note\n", encoding="utf-8")
    assert KeywordClassifier(load_keywords(edited)).version != clf.version


def test_opec_plus_output_cut_is_cooperation_without_an_agreement_word(clf: KeywordClassifier) -> None:
    # "Oil rises as OPEC and Russia keep cutting output": an OPEC+ output deal is energy cooperation (GUIDE).
    title = "النفط يرتفع مع استمرار أوبك وروسيا في خفض الإنتاج"
    text = "خفضت أوبك وروسيا إنتاجهما النفطي منذ بداية العام لامتصاص تخمة المعروض في سوق الخام."
    verdict = clf.classify(title, text)
    assert verdict.is_hit, (verdict.score, verdict.evidence)
    assert verdict.partners[0] == "OPEC"
    assert "energy" in verdict.sectors
