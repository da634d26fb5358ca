"""The digest's delivery protocol on both engines: claims never overlap, leases hold, failures release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.repository import Repository
from tests.storage.conftest import outcome
from tests.storage.test_repository import TEXT_A, TEXT_B

NOW = datetime.now(UTC)


def _two_hits(repo: Repository) -> list[int]:
    run_id = repo.start_run(["sana"])
    repo.store([outcome("https://sana.sy/?p=1", TEXT_A), outcome("https://sana.sy/?p=2", TEXT_B)], run_id)
    return sorted(hit.article_id for hit in repo.pending_hits())


def _claim(repo: Repository, ids: list[int], message_id: str, now: datetime = NOW) -> int | None:
    return repo.claim_digest(ids, message_id, "subject", "message", ["a@example.org"], len(ids), now)


def test_claimed_hits_are_no_longer_pending_and_the_digest_keeps_its_message(repo: Repository) -> None:
    ids = _two_hits(repo)
    digest_id = _claim(repo, ids, "<m1@example.org>")
    assert digest_id is not None
    assert repo.pending_hits() == []
    record = repo.digest(digest_id)
    assert record is not None
    assert (record.status, record.message_id, record.hits, record.attempts) == (
        "sending",
        "<m1@example.org>",
        2,
        1,
    )


def test_a_second_claim_of_a_claimed_hit_fails_whole_and_leaves_no_digest(repo: Repository) -> None:
    ids = _two_hits(repo)
    first = _claim(repo, ids[:1], "<m1@example.org>")
    assert first is not None
    assert _claim(repo, ids, "<m2@example.org>") is None
    assert [h.article_id for h in repo.pending_hits()] == ids[1:]  # the second hit was not half-claimed
    assert repo.digest(first + 1) is None


def test_a_digest_being_sent_is_left_alone_until_its_lease_is_over(repo: Repository) -> None:
    digest_id = _claim(repo, _two_hits(repo), "<m1@example.org>")
    assert digest_id is not None
    assert repo.unfinished_digests(NOW + timedelta(seconds=60), lease=300) == []
    later = NOW + timedelta(seconds=301)
    [record] = repo.unfinished_digests(later, lease=300)
    assert record.digest_id == digest_id
    assert repo.take_over_digest(digest_id, later, lease=300) is True
    assert repo.take_over_digest(digest_id, later, lease=300) is False  # a second process loses
    assert repo.digest(digest_id).attempts == 2  # type: ignore[union-attr]


def test_a_refused_digest_is_failed_and_its_hits_pending_again(repo: Repository) -> None:
    ids = _two_hits(repo)
    digest_id = _claim(repo, ids, "<m1@example.org>")
    assert digest_id is not None
    repo.digest_failed(digest_id, "127.0.0.1:25 refused: 554 no")
    assert sorted(h.article_id for h in repo.pending_hits()) == ids
    record = repo.digest(digest_id)
    assert record is not None and (record.status, record.last_error) == (
        "failed",
        "127.0.0.1:25 refused: 554 no",
    )
    assert repo.unfinished_digests(NOW + timedelta(days=1), lease=0) == []


def test_an_unsure_digest_is_resent_at_once_and_keeps_its_hits(repo: Repository) -> None:
    digest_id = _claim(repo, _two_hits(repo), "<m1@example.org>")
    assert digest_id is not None
    repo.digest_unsure(digest_id, "connection lost after the message")
    assert [r.digest_id for r in repo.unfinished_digests(NOW, lease=300)] == [digest_id]
    assert repo.pending_hits() == []
    repo.digest_sent(digest_id, NOW)
    assert repo.unfinished_digests(NOW + timedelta(days=1), lease=0) == []
    assert repo.last_digest_sent_at() == NOW.replace(microsecond=NOW.microsecond)
