"""The offline snapshot's site model: which real articles each local outlet serves, and how.

``build_snapshot(data_dir)`` picks, deterministically, a few hundred real articles from
``articles.jsonl`` (every dev-set hit, some dev hard negatives, mostly articles not about Russia), the five
target examples and the real saved HTML pages, and spreads them over outlets under path prefixes of one
host (``http://127.0.0.1:PORT/<outlet>/...``). ``Snapshot.routes(base_url)`` renders every page, feed and
sitemap to bytes (see ``snapshot.layouts``) and ``Snapshot.sources(base_url)`` says how to crawl them. The
data stays in ``../shared/data``; nothing here is written into the repository.

Each outlet exercises one way in: RSS 2.0, Atom, a home page with feed autodiscovery only, a news sitemap
index of gzipped sitemaps, or section pages that also link to tags, authors and pagination. Five serve
legacy charsets: windows-1256 declared only in the header, only in ``<meta>``, nowhere, or wrongly as
UTF-8, and ISO-8859-6 declared in both.
"""

from __future__ import annotations

import email.utils
import html
import json
import logging
import random
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import yaml

from config.sources import Source
from snapshot import layouts
from snapshot.replay import SNAPSHOT_SEED, SNAPSHOT_SIZE, Route

logger = logging.getLogger(__name__)

SHARE_HARD_NEGATIVES = 0.12  # dev articles that mention Russia without cooperation (the classifier's traps)
SHARE_RUSSIA_OTHER = 0.10  # other articles that mention Russia; the rest of an outlet is about anything else
RUSSIA = re.compile(r"روسي|روسيا|موسكو|بوتين|الكرملين|لافروف")
#: Bad links the bbc feed lists among its articles: each must cost one item, never the run.
FAULT_PATHS = (
    "/bbc/_fault/status/404", "/bbc/_fault/status/503", "/bbc/_fault/no-article.html",
    "/bbc/_fault/redirect-loop", "/bbc/_fault/big?mb=12",  # 12 MB: over the crawler's 10 MB download cap
)  # fmt: skip
_NO_DATE = datetime(2018, 5, 1, 9, 0, tzinfo=UTC)  # for pool items without a date (ANC, Ahdath)
_EXAMPLE_DATES = (  # the target stories ran in 2025; the Dubai Airshow was 17-21 November 2025
    datetime(2025, 9, 3, 10, 15, tzinfo=timezone(timedelta(hours=3))),
    datetime(2025, 10, 9, 14, 40, tzinfo=timezone(timedelta(hours=3, minutes=30))),
    datetime(2025, 7, 21, 12, 5, tzinfo=timezone(timedelta(hours=4))),
    datetime(2025, 8, 28, 8, 30, tzinfo=timezone(timedelta(hours=8))),
    datetime(2025, 11, 18, 16, 20, tzinfo=timezone(timedelta(hours=4))),
)


@dataclass(frozen=True, slots=True)
class Outlet:
    """One local outlet: where its pool articles come from, how it is entered, laid out and encoded."""

    name: str
    title: str  # display name, in Arabic
    pools: tuple[str, ...]  # ``source`` values of articles.jsonl it serves
    entry: str  # "rss", "atom", "autodiscovery", "sitemap", "sections" or "page" (a real saved page)
    layout: str = "portal"
    charset: str = "utf-8"  # the bytes' encoding
    declared: str = "both"  # where the charset is declared: "both", "header", "meta", "none", "wrong"
    weight: float = 1.0  # share of the snapshot's articles
    country: str | None = None
    authors: tuple[str, ...] = ("المحرر",)


OUTLETS: tuple[Outlet, ...] = (
    Outlet("skynews", "سكاي نيوز عربية", ("ant-skynews",), "rss", "portal", weight=3.0, country="AE",
           authors=("سكاي نيوز عربية - أبوظبي", "أبوظبي - سكاي نيوز عربية")),
    Outlet("alarabiya", "العربية", ("ant-alarabia",), "atom", "portal", weight=2.0, country="AE",
           authors=("العربية.نت", "دبي - العربية.نت")),
    Outlet("bbc", "بي بي سي عربي", ("ant-bbc",), "rss", "agency", weight=1.5, country="GB",
           authors=("بي بي سي", "القسم العربي")),
    Outlet("cnn", "سي إن إن بالعربية", ("ant-cnn",), "autodiscovery", "portal", weight=1.2, country="US",
           authors=("CNN بالعربية",)),
    Outlet("france24", "فرانس 24", ("ant-france24",), "sitemap", "portal", weight=1.2, country="FR",
           authors=("فرانس24 / أ ف ب", "فرانس24")),
    Outlet("jawharafm", "الجوهرة أف أم", ("ant-jawharafm",), "sections", "agency", weight=1.0, country="TN",
           authors=("مريم الكعبي", "سامي الشريف", "هيئة التحرير")),
    Outlet("aawsat", "الشرق الأوسط", ("saudinewsnet-aawsat",), "rss", "paper", weight=1.0, country="SA",
           authors=("لندن: «الشرق الأوسط»", "الرياض: «الشرق الأوسط»")),
    Outlet("alriyadh", "جريدة الرياض", ("saudinewsnet-alriyadh",), "rss", "paper", "windows-1256", "header",
           0.8, "SA", ("الرياض - واس", "محرر الرياض")),
    Outlet("aleqtisadiya", "الاقتصادية", ("saudinewsnet-aleqtisadiya",), "rss", "paper", "windows-1256", "meta",
           0.8, "SA", ("الاقتصادية من الرياض",)),
    Outlet("aljazirah", "الجزيرة", ("saudinewsnet-aljazirah",), "rss", "paper", "windows-1256", "none", 0.6,
           "SA", ("الجزيرة - الرياض",)),
    Outlet("alyaum", "اليوم", ("saudinewsnet-alyaum",), "rss", "paper", "iso-8859-6", "both", 0.5, "SA",
           ("الدمام - اليوم",)),
    Outlet("okaz", "عكاظ", ("saudinewsnet-okaz",), "rss", "paper", "windows-1256", "wrong", 0.5, "SA",
           ("عكاظ - جدة",)),
    Outlet("rtarabic", "روسيا اليوم", tuple(f"anc-{c}" for c in (
        "ae", "bh", "dz", "eg", "iq", "jo", "kw", "lb", "ly", "ma", "mr", "om", "ps", "qa", "sa", "sd", "sy",
        "tm", "ye")) + ("ahdath.info",), "rss", "agency", weight=0.6, country="RU",
           authors=("آر تي", "موسكو - آر تي")),
    Outlet("wam", "وكالة أنباء الإمارات", tuple(f"saudinewsnet-{p}" for p in (
        "was", "alwatan", "alweeam", "3alyoum", "almadina", "sabq", "arreyadi", "arriyadiyah")), "atom", "agency",
           weight=0.6, country="AE", authors=("وام", "أبوظبي - وام")),
)  # fmt: skip
EXAMPLE_OUTLETS = ("rtarabic", "rtarabic", "wam", "rtarabic", "wam")  # one per example file, in name order
#: The UAE-Russia defence story (example 004) is also carried by two other outlets with their own headlines.
SYNDICATED = (
    ("skynews", "الإمارات وروسيا توقعان مذكرة تفاهم للتعاون الدفاعي على هامش معرض دبي للطيران", "دبي - "),
    ("aawsat", "«توازن» و«روس أوبورون إكسبورت» توقعان مذكرة تفاهم دفاعية في دبي", "دبي: «الشرق الأوسط» - "),
)
_SECTIONS = {  # pool category -> (path slug, Arabic label)
    "internationalNews": ("world", "العالم"), "middleEast": ("middle-east", "الشرق الأوسط"),
    "economy": ("economy", "اقتصاد"), "sport": ("sport", "رياضة"), "culture": ("culture", "ثقافة وفن"),
    "technology": ("technology", "تكنولوجيا"), "localNews": ("local", "محليات"), "politic": ("politics", "سياسة"),
    "society": ("society", "مجتمع"), "diverse": ("varieties", "منوعات"), "اقتصاديه": ("economy", "اقتصاد"),
    "ثقافية": ("culture", "ثقافة وفن"), "دينيه": ("religion", "دين ودنيا"), "رياضية": ("sport", "رياضة"),
    "سياسيه": ("politics", "سياسة"), "علمية وتقنية": ("technology", "علوم وتكنولوجيا"),
}  # fmt: skip
_UNSECTIONED = (("local", "محليات"), ("world", "دوليات"), ("economy", "اقتصاد"))


@dataclass(frozen=True, slots=True)
class SnapshotArticle:
    """Ground truth for one served article page: what it is, where it is, and what its text is."""

    outlet: str
    path: str  # percent-decoded path, the route key; ``url(base)`` gives the link
    title: str
    paragraphs: tuple[str, ...]
    published: datetime  # aware
    section: str  # path slug of its section
    section_label: str
    author: str
    pool_id: str | None = None  # id in articles.jsonl
    example: str | None = None  # file name in ../shared/examples
    real_file: str | None = None  # file under pages/ served as its original bytes
    original_url: str | None = None  # the outlet's real URL, used as <link rel="canonical">
    charset: str = "utf-8"
    declared: str = "both"
    is_dev_hit: bool = False
    is_hard_negative: bool = False
    is_example: bool = False
    is_private: bool = False  # under a path robots.txt disallows: a polite crawler never stores it
    syndicated_from: str | None = None  # the example or pool id this copy was rewritten from
    number: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def is_real_page(self) -> bool:
        return self.real_file is not None

    @property
    def is_hit(self) -> bool:
        """Labelled (or known, for the examples and their copies) to be about cooperation with Russia."""
        return self.is_dev_hit or self.is_example or self.syndicated_from is not None

    def url(self, base_url: str) -> str:
        return base_url + quote(self.path, safe="/-._~")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole offline web: outlets and their articles, rendered on demand for a base URL."""

    data_dir: Path
    size: int
    seed: int
    outlets: tuple[Outlet, ...]
    articles: tuple[SnapshotArticle, ...]
    tracked_path: str  # an article listed in feeds also with tracking parameters and as AMP
    fault_paths: tuple[str, ...] = field(default=())  # bad links some feeds list (404, 503, no article)

    def outlet(self, name: str) -> Outlet:
        return next(o for o in self.outlets if o.name == name)

    def articles_of(self, outlet: str) -> tuple[SnapshotArticle, ...]:
        """The outlet's articles, newest first."""
        return tuple(
            sorted((a for a in self.articles if a.outlet == outlet), key=_newest_first, reverse=True)
        )

    def variant_paths(self) -> tuple[str, ...]:
        """Route keys of the tracked article's variants: tracking parameters and the AMP page."""
        return (layouts.tracking_path(self.tracked_path), layouts.amp_path(self.tracked_path))

    def routes(self, base_url: str) -> dict[str, Route]:
        """Every page, feed and sitemap as served under ``base_url`` (e.g. ``http://127.0.0.1:41235``)."""
        return layouts.build_routes(self, base_url.rstrip("/"))

    def sources(self, base_url: str) -> tuple[Source, ...]:
        """One ``Source`` per outlet, listing the entry points a crawler needs (none for autodiscovery)."""
        base = base_url.rstrip("/")
        result = []
        for outlet in self.outlets:
            feeds, sitemaps, sections, allow = layouts.entry_points(self, outlet, base)
            result.append(Source(name=outlet.name, url=f"{base}/{outlet.name}/", feeds=feeds, sitemaps=sitemaps,
                                 sections=sections, allow=allow, country=outlet.country))  # fmt: skip
        return tuple(result)

    def write_sources_yaml(self, path: Path, base_url: str) -> None:
        """Write the sources file ``config.sources.load_sources`` reads for this snapshot."""
        entries = []
        for s in self.sources(base_url):
            entry: dict[str, object] = {"name": s.name, "url": s.url}
            for key in ("feeds", "sitemaps", "sections", "allow"):
                if getattr(s, key):
                    entry[key] = list(getattr(s, key))
            if s.country:
                entry["country"] = s.country
            entries.append(entry)
        text = f"# Offline snapshot served at {base_url} (generated by snapshot.build)\n"
        Path(path).write_text(text + yaml.safe_dump({"sources": entries}, allow_unicode=True, sort_keys=False),
                              encoding="utf-8")  # fmt: skip


def build_snapshot(data_dir: Path, size: int = SNAPSHOT_SIZE, seed: int = SNAPSHOT_SEED) -> Snapshot:
    """Pick ``size`` pool articles plus the examples and real pages, deterministically for ``seed``."""
    data_dir = Path(data_dir)
    rng = random.Random(seed)
    pool = _load_pool(data_dir / "articles.jsonl")
    hits, hard = _load_dev(data_dir / "labelled" / "dev.jsonl")
    chosen: dict[str, list[dict]] = {o.name: [] for o in OUTLETS}
    by_outlet: dict[str, list[dict]] = defaultdict(list)
    outlet_of = {p: o.name for o in OUTLETS for p in o.pools}
    for row in pool:
        if row["source"] in outlet_of:
            by_outlet[outlet_of[row["source"]]].append(row)
    total_weight = sum(o.weight for o in OUTLETS)
    leftover = 0
    for outlet in OUTLETS:
        quota = round(size * outlet.weight / total_weight)
        rows = by_outlet[outlet.name]
        picked = [r for r in rows if r["id"] in hits]
        rest = [r for r in rows if r["id"] not in hits]
        rng.shuffle(rest)
        groups = (
            ([r for r in rest if r["id"] in hard], round(quota * SHARE_HARD_NEGATIVES)),
            ([r for r in rest if r["id"] not in hard and r["_russia"]], round(quota * SHARE_RUSSIA_OTHER)),
            ([r for r in rest if r["id"] not in hard and not r["_russia"]], quota),
        )
        for candidates, want in groups:
            picked += candidates[: max(0, min(want, quota - len(picked)))]
        if len(picked) < quota:  # a small pool: fill from whatever it has
            extra = [r for r in rest if r not in picked]
            picked += extra[: quota - len(picked)]
        leftover += quota - len(picked)
        chosen[outlet.name] = picked
    if leftover > 0:  # small pools could not fill their quota; the biggest outlet takes the rest
        taken = {r["id"] for r in chosen["skynews"]}
        spare = [r for r in by_outlet["skynews"] if r["id"] not in taken and not r["_russia"]]
        chosen["skynews"] += spare[:leftover]
    articles: list[SnapshotArticle] = []
    for outlet in OUTLETS:
        for row in chosen[outlet.name]:
            articles.append(
                _from_pool(outlet, row, rng, is_dev_hit=row["id"] in hits, is_hard=row["id"] in hard)
            )
    articles += _examples(data_dir.parent / "examples")
    articles += _private_articles(by_outlet, {a.pool_id for a in articles}, rng)
    articles = _numbered(articles)
    real_outlets, real_articles = _real_pages(data_dir / "pages")
    tracked = next(
        a for a in _sorted(articles) if a.outlet == "skynews" and a.is_dev_hit and not a.is_private
    )
    return Snapshot(
        data_dir=data_dir, size=size, seed=seed, outlets=OUTLETS + real_outlets,
        articles=tuple(_sorted(articles) + real_articles), tracked_path=tracked.path,
        fault_paths=FAULT_PATHS,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- reading the data


def _load_pool(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            row["_russia"] = bool(RUSSIA.search(row["title"] or "") or RUSSIA.search(row["text"] or ""))
            rows.append(row)
    return rows


def _load_dev(path: Path) -> tuple[set[str], set[str]]:
    """Ids of the dev-set hits, and of its hard negatives (Russia mentioned, no cooperation)."""
    hits, hard = set(), set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("label") is True:
                hits.add(row["id"])
            elif row.get("label") is False and row.get("kind") == "russia-no-cooperation":
                hard.add(row["id"])
    return hits, hard


def _from_pool(
    outlet: Outlet, row: dict, rng: random.Random, is_dev_hit: bool, is_hard: bool
) -> SnapshotArticle:
    title, paragraphs = _title_and_paragraphs(row["title"] or "", row["text"] or "")
    slug, label = _SECTIONS.get(row["category"] or "", _UNSECTIONED[zlib.crc32(row["id"].encode()) % 3])
    return SnapshotArticle(
        outlet=outlet.name, path="", title=title, paragraphs=paragraphs, published=_parse_date(row),
        section=slug, section_label=label, author=rng.choice(outlet.authors), pool_id=row["id"],
        original_url=row["url"], charset=outlet.charset, declared=outlet.declared, is_dev_hit=is_dev_hit,
        is_hard_negative=is_hard,
    )  # fmt: skip


_LABEL_LINE = re.compile(r"^AHDATH\.INFO?\b.*$|^\s*(خاص|تغطية.*)\s*$", re.IGNORECASE)


def _title_and_paragraphs(title: str, text: str) -> tuple[str, tuple[str, ...]]:
    """The headline and body paragraphs; a corpus without titles gives its first line as the headline."""
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln and not _LABEL_LINE.match(ln)]
    title = " ".join(title.split())  # the corpora keep runs of spaces a page's headline would not show
    if not title and lines:
        first = lines.pop(0)
        words = first.split()
        title = " ".join(words) if len(words) <= 16 else " ".join(words[:12]) + "…"
        if len(words) > 16:
            lines.insert(0, first)
    paragraphs: list[str] = []
    for line in lines:
        paragraphs += _split_long(line)
    return title or "خبر", tuple(paragraphs) or (title,)


def _split_long(line: str) -> list[str]:
    """A corpus paragraph of 700+ characters is cut at sentence ends into paragraphs of about 400."""
    if len(line) < 700:
        return [line]
    sentences = re.split(r"(?<=[.!؟?])\s+", line)
    out, current = [], ""
    for sentence in sentences:
        current = f"{current} {sentence}".strip()
        if len(current) >= 400:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


def _parse_date(row: dict) -> datetime:
    """The pool's date: RFC 822 (ANT), ISO or dd/mm/yyyy (JawharaFM), a crawl time (SaudiNewsNet, UTC+3)."""
    value = (row.get("published") or "").strip()
    if value:
        try:
            return email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
        try:
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone(timedelta(hours=3)))
        except ValueError:
            pass
        try:
            return datetime.strptime(value, "%d/%m/%Y").replace(hour=11, tzinfo=timezone(timedelta(hours=1)))
        except ValueError:
            pass
    # No date in the corpus: a fixed, plausible one spread over 90 days, the same on every build.
    return _NO_DATE + timedelta(minutes=zlib.crc32(row["id"].encode()) % (90 * 24 * 60))


def _examples(folder: Path) -> list[SnapshotArticle]:
    """The five target stories, as their outlets ran them, plus the syndicated copies of the last one."""
    result = []
    files = sorted(folder.glob("*.txt"))
    for index, file in enumerate(files):
        lines = file.read_text(encoding="utf-8").splitlines()
        title = lines[0].strip()
        paragraphs = tuple(ln.strip() for ln in lines[1:] if ln.strip())
        outlet = next(o for o in OUTLETS if o.name == EXAMPLE_OUTLETS[index % len(EXAMPLE_OUTLETS)])
        article = SnapshotArticle(
            outlet=outlet.name, path="", title=title, paragraphs=paragraphs,
            published=_EXAMPLE_DATES[index % len(_EXAMPLE_DATES)], section="world", section_label="العالم",
            author=outlet.authors[0], example=file.name, charset=outlet.charset, declared=outlet.declared,
            is_example=True,
        )  # fmt: skip
        result.append(article)
    if len(files) >= 5:
        story = result[4]
        for position, (name, headline, dateline) in enumerate(SYNDICATED):
            outlet = next(o for o in OUTLETS if o.name == name)
            # Small edits, as a desk rewrites wire copy: a dateline, the closing summary dropped.
            body = (dateline + story.paragraphs[0],) + story.paragraphs[
                1 : len(story.paragraphs) - 1 - position
            ]
            result.append(replace(
                story, outlet=name, title=headline, paragraphs=body, author=outlet.authors[0],
                published=story.published + timedelta(hours=2 + position), example=None, is_example=False,
                syndicated_from=story.example, charset=outlet.charset, declared=outlet.declared,
            ))  # fmt: skip
    return result


def _private_articles(
    by_outlet: dict[str, list[dict]], taken: set[str | None], rng: random.Random
) -> list[SnapshotArticle]:
    """One article each on skynews and jawharafm under ``/private/``, which robots.txt disallows."""
    result = []
    for name in ("skynews", "jawharafm"):
        outlet = next(o for o in OUTLETS if o.name == name)
        row = next((r for r in by_outlet[name] if r["id"] not in taken and not r["_russia"]), None)
        if row is None:  # every article of the outlet is in the snapshot already
            raise ValueError(
                f"the data holds too few {name} articles for a snapshot this large: use a smaller --size"
            )
        result.append(replace(_from_pool(outlet, row, rng, False, False), is_private=True))
    return result


def _sorted(articles: Iterable[SnapshotArticle]) -> list[SnapshotArticle]:
    return sorted(
        articles, key=lambda a: (a.outlet, a.published.astimezone(UTC), a.pool_id or a.example or a.title)
    )


def _newest_first(article: SnapshotArticle) -> tuple[datetime, str]:
    return (article.published.astimezone(UTC), article.path)


def _numbered(articles: list[SnapshotArticle]) -> list[SnapshotArticle]:
    """Give each article its outlet's running number (older = smaller, as CMS ids grow) and its path."""
    result = []
    counters: dict[str, int] = defaultdict(int)
    for article in _sorted(articles):
        counters[article.outlet] += 1
        number = 1040000 + 37 * counters[article.outlet] + zlib.crc32(article.title.encode()) % 30
        numbered = replace(article, number=number)
        result.append(replace(numbered, path=article_path(numbered)))
    return result


def slugify(title: str, words: int = 8) -> str:
    """An Arabic URL slug, as many outlets build them from the headline."""
    return "-".join(re.findall(r"\w+", title)[:words]) or "news"


def article_path(a: SnapshotArticle) -> str:
    """The outlet's URL scheme for an article (decoded); ``/private/`` goes after the outlet prefix."""
    private = "/private" if a.is_private else ""
    d = a.published.astimezone(UTC)
    slug = slugify(a.title)
    schemes = {
        "skynews": f"/{a.section}/{a.number}-{slug}",
        "alarabiya": f"/ar/{a.section}/{d:%Y/%m/%d}/{slug}.html",
        "bbc": f"/arabic/{a.section}-{a.number}",
        "cnn": f"/{a.section}/article/{d:%Y/%m/%d}/story-{a.number}",
        "france24": f"/ar/{d:%Y%m%d}-{slug}",
        "jawharafm": f"/ar/article/{slug}/{100 + len(a.section)}/{a.number}",
        "rtarabic": f"/news/{a.number}-{slug}",
        "wam": f"/ar/article/{a.number:x}-{slug}",
    }
    return f"/{a.outlet}{private}{schemes.get(a.outlet, f'/article/{a.number}')}"


def _confined(folder: Path, name: str) -> Path | None:
    """``folder / name`` if it resolves to a file inside ``folder``; else None, said in one line.

    The index is data, not code: ``"file": "../../../../etc/passwd"`` or an absolute path must not make the
    snapshot server serve a file from elsewhere (links are resolved too).
    """
    root = folder.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        logger.warning("%s: skipped page %r: not a file inside %s", folder / "index.jsonl", name, root)
        return None
    return path


def _real_pages(folder: Path) -> tuple[tuple[Outlet, ...], list[SnapshotArticle]]:
    """The 11 real saved pages, one outlet each (named for its site), served at their original paths."""
    outlets, articles = [], []
    index = folder / "index.jsonl"
    if not index.is_file():
        return (), []
    for line in index.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        site = entry["site"]
        page = _confined(folder, entry["file"])
        if page is None:
            continue
        raw = page.read_bytes()
        match = re.search(rb"<title[^>]*>(.*?)</title>", raw, re.S | re.I)
        title = html.unescape(match.group(1).decode("utf-8", "replace")).strip() if match else site
        parts = urlsplit(entry["url"])
        dated = re.search(r"(?:eval date|crawl_date) (\d{4}-\d{2}-\d{2})", entry.get("source", ""))
        published = (
            datetime.fromisoformat(dated.group(1)).replace(hour=12, tzinfo=UTC) if dated
            else datetime(2013, 8, 3, 12, tzinfo=UTC)  # the CNN page's URL date; Assabah's is near it
        )  # fmt: skip
        outlets.append(Outlet(site, site, (), "page", "real", entry.get("charset", "utf-8"), "real", 0.0))
        articles.append(SnapshotArticle(
            outlet=site, path=f"/{site}{unquote(parts.path)}", title=title, paragraphs=(), published=published,
            section="news", section_label="أخبار", author="", real_file=entry["file"], original_url=entry["url"],
            charset=entry.get("charset", "utf-8"), declared="real",
        ))  # fmt: skip
    return tuple(outlets), articles
