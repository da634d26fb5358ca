"""A `rasid digest send` killed (SIGKILL) while the server holds its message, then run again.

The SMTP server holds DATA until the test has killed the sender, either after queueing the message
(the worst case: the server took the mail but the sender never learnt it) or before (the server drops
it). The next run must resend that digest with the same Message-ID and the same hits (so the mail
client keeps one copy), put the hits stored meanwhile into a digest of their own, and lose none.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.repository import Repository
from tests.rasid.digest_fixtures import (
    labelled_hits,
    parts,
    run_cli,
    smtp_server,
    spawn_cli,
    store_hits,
    write_config,
)


@pytest.mark.parametrize("stall", ["after-queue", "before-queue"])
def test_a_send_killed_mid_data_is_resent_as_the_same_message_and_no_hit_is_mailed_twice_or_lost(
    database_url: str,
    shared_data: Path,
    tmp_path: Path,
    stall: str,
) -> None:
    first = store_hits(database_url, labelled_hits(shared_data, 4), datetime.now(UTC))
    with smtp_server() as (inbox, port):
        config = write_config(tmp_path / "rasid.toml", database_url, port, sending_lease=0)
        inbox.stall = stall
        child = spawn_cli(config, "digest", "send")
        assert inbox.entered.wait(90), "the sender never reached DATA"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
        inbox.stall = None
        inbox.release.set()
        later = store_hits(
            database_url, labelled_hits(shared_data, 2, skip=4), datetime.now(UTC), copy_first=False
        )
        restarted = run_cli(config, "digest", "send")
        again = run_cli(config, "digest", "send")
    assert restarted.returncode == 0, restarted.stderr
    assert "resent 1 unfinished digest" in restarted.stdout
    assert "nothing new" in again.stdout
    if stall == "after-queue":  # the server kept the dead sender's message: the resend is a copy of it
        killed, resent, fresh = inbox.messages
        assert killed["Message-ID"] == resent["Message-ID"]
        assert killed.as_bytes() == resent.as_bytes()  # the same message, not a re-rendering
    else:  # the server dropped it with the connection: the resend is the only copy
        resent, fresh = inbox.messages
    assert resent["Message-ID"] != fresh["Message-ID"]
    # A mail client keeps one message per Message-ID: in what it keeps, every hit appears exactly once.
    kept = {str(m["Message-ID"]): parts(m)[0] for m in inbox.messages}
    for hit in first + later:
        assert sum(text.count(hit.url) for text in kept.values()) == 1, hit.url
    assert not any(hit.url in parts(resent)[0] for hit in later)  # the resend is never a different set
    engine = make_engine(database_url)
    repository = Repository(engine)
    assert repository.pending_hits() == []
    assert repository.unfinished_digests(datetime.now(UTC), 0) == []
    engine.dispose()
