"""The replay server over real HTTP: fixed routes, fault routes, and the snapshot in its child process."""

from __future__ import annotations

import gzip
import html
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from config.sources import load_sources
from snapshot.replay import ReplayProcess, Route, SiteServer, route_key
from tests.servers import SnapshotServer

SiteFactory = Callable[[Mapping[str, Route]], SiteServer]


def get(
    url: str, timeout: float = 10, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body, without following redirects or raising on error statuses."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body


def xml_links(body: bytes) -> list[str]:
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    return [e.text for e in root.iter("{*}loc", "link") if e.text]


# --------------------------------------------------------------------------------------------- SiteServer


def test_site_server_serves_route_bytes_and_headers(site_server: SiteFactory) -> None:
    body = "<p>موسكو</p>".encode("cp1256")
    site = site_server({"/a.html": Route(body, "text/html", headers=(("X-Outlet", "test"),))})
    status, headers, served = get(site.url + "/a.html")
    assert (status, served, headers["Content-Type"], headers["X-Outlet"]) == (200, body, "text/html", "test")


def test_route_without_content_type_sends_no_content_type_header(site_server: SiteFactory) -> None:
    site = site_server({"/bare": Route(b"<p>x</p>", content_type=None)})
    _, headers, _ = get(site.url + "/bare")
    assert "Content-Type" not in headers


def test_arabic_paths_match_their_percent_encoded_requests(site_server: SiteFactory) -> None:
    site = site_server({"/ar/خبر": Route("خبر".encode())})
    assert get(site.url + "/ar/%D8%AE%D8%A8%D8%B1")[2] == "خبر".encode()
    assert route_key("/ar/%D8%AE%D8%A8%D8%B1?utm_source=rss") == "/ar/خبر?utm_source=rss"


def test_unknown_query_falls_back_to_the_path_and_unknown_path_is_404(site_server: SiteFactory) -> None:
    site = site_server({"/a": Route(b"plain"), "/a?page=2": Route(b"second")})
    assert get(site.url + "/a?utm_source=x")[2] == b"plain"
    assert get(site.url + "/a?page=2")[2] == b"second"
    assert get(site.url + "/missing")[0] == 404


def test_head_sends_length_but_no_body(site_server: SiteFactory) -> None:
    site = site_server({"/a": Route(b"12345")})
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    conn.request("HEAD", "/a")
    response = conn.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (200, "5", b"")


def test_concurrent_requests_are_all_answered(site_server: SiteFactory) -> None:
    site = site_server({f"/p{i}": Route(str(i).encode()) for i in range(50)})
    with ThreadPoolExecutor(max_workers=25) as pool:
        bodies = list(pool.map(lambda i: get(f"{site.url}/p{i}")[2], range(50)))
    assert bodies == [str(i).encode() for i in range(50)]


def test_a_garbage_request_does_not_stop_the_server(site_server: SiteFactory) -> None:
    site = site_server({"/a": Route(b"ok")})
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
        assert b"Error code: 400" in sock.recv(1000)
    assert get(site.url + "/a")[2] == b"ok"


def test_compressing_server_gzips_text_only_for_clients_that_accept_it() -> None:
    page = ("<p>" + "تعاون روسي " * 300 + "</p>").encode()
    sitemap = gzip.compress(b"<urlset/>" * 200)
    with SiteServer(
        {"/a": Route(page), "/s.xml.gz": Route(sitemap, "application/x-gzip")}, compress=True
    ) as site:
        _, plain_headers, plain = get(site.url + "/a")
        _, headers, body = get(site.url + "/a", headers={"Accept-Encoding": "gzip, deflate"})
        _, gz_headers, gz = get(site.url + "/s.xml.gz", headers={"Accept-Encoding": "gzip"})
    assert plain == page and "Content-Encoding" not in plain_headers
    assert headers["Content-Encoding"] == "gzip" and len(body) < len(page) and gzip.decompress(body) == page
    assert gz == sitemap and "Content-Encoding" not in gz_headers


# --------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("code", [404, 500, 503])
def test_status_fault_answers_that_status(site_server: SiteFactory, code: int) -> None:
    assert get(site_server({}).url + f"/_fault/status/{code}")[0] == code


def test_fault_routes_also_answer_under_an_outlet_prefix(site_server: SiteFactory) -> None:
    assert get(site_server({}).url + "/bbc/_fault/status/404")[0] == 404


def test_redirect_loop_comes_back_to_where_it_started(site_server: SiteFactory) -> None:
    site = site_server({})
    status, headers, _ = get(site.url + "/_fault/redirect-loop")
    assert (status, headers["Location"]) == (302, "/_fault/redirect-loop/2")
    status, headers, _ = get(site.url + headers["Location"])
    assert (status, headers["Location"]) == (302, "/_fault/redirect-loop")


def test_big_fault_streams_the_requested_megabytes(site_server: SiteFactory) -> None:
    status, headers, body = get(site_server({}).url + "/_fault/big?mb=3")
    assert status == 200 and len(body) == int(headers["Content-Length"]) == 3 * 1024 * 1024
    assert body.endswith(b"</body></html>")


def test_slow_fault_waits_before_answering(site_server: SiteFactory) -> None:
    url = site_server({}).url
    with pytest.raises(TimeoutError):
        get(url + "/_fault/slow?seconds=2", timeout=0.3)
    started = time.monotonic()
    assert get(url + "/_fault/slow?seconds=0.5")[0] == 200
    assert time.monotonic() - started >= 0.5


def test_drop_fault_closes_the_connection_without_a_response(site_server: SiteFactory) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        get(site_server({}).url + "/_fault/drop")


def test_partial_fault_sends_fewer_bytes_than_promised(site_server: SiteFactory) -> None:
    with pytest.raises(http.client.IncompleteRead):
        get(site_server({}).url + "/_fault/partial")


def test_entity_bomb_and_xxe_feeds_are_harmless_with_entities_off(site_server: SiteFactory) -> None:
    url = site_server({}).url
    bomb = get(url + "/_fault/entity-bomb.xml")[2]
    xxe = get(url + "/_fault/xxe.xml")[2]
    assert b'<!ENTITY lol9 "&lol8;' in bomb and b'SYSTEM "file:///etc/passwd"' in xxe
    safe = etree.XMLParser(resolve_entities=False, no_network=True)
    try:  # libxml2 >= 2.11 refuses the amplification outright; older ones leave the entities unexpanded
        assert len(etree.tostring(etree.fromstring(bomb, safe))) < 10_000
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc)
    assert b"root:" not in etree.tostring(etree.fromstring(xxe, safe))


def test_malformed_feed_does_not_parse(site_server: SiteFactory) -> None:
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(get(site_server({}).url + "/_fault/malformed-feed.xml")[2])


def test_no_article_page_has_navigation_but_no_paragraph(site_server: SiteFactory) -> None:
    status, _, body = get(site_server({}).url + "/_fault/no-article.html")
    assert status == 200 and b"<nav>" in body and b"<p>" in body.split(b"<footer>")[1]
    assert b"<p>" not in body.split(b"<footer>")[0]


# --------------------------------------------------------------------------------------------- the snapshot


def test_snapshot_serves_real_pages_byte_for_byte(snapshot_server: SnapshotServer, shared_data: Path) -> None:
    real = [a for a in snapshot_server.snapshot.articles if a.is_real_page]
    for article in real:
        status, headers, body = get(article.url(snapshot_server.url))
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == (shared_data / "pages" / article.real_file).read_bytes()


def test_snapshot_server_gzips_pages_that_decompress_to_the_original_bytes(
    snapshot_server: SnapshotServer, shared_data: Path
) -> None:
    article = next(a for a in snapshot_server.snapshot.articles if a.real_file == "youm7.com/1691196862.html")
    _, headers, body = get(article.url(snapshot_server.url), headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (shared_data / "pages" / article.real_file).read_bytes()


def test_snapshot_windows_1256_page_decodes_back_to_the_arabic_text(snapshot_server: SnapshotServer) -> None:
    for outlet in ("alriyadh", "aleqtisadiya", "aljazirah", "okaz"):
        article = snapshot_server.snapshot.articles_of(outlet)[0]
        _, _, body = get(article.url(snapshot_server.url))
        text = html.unescape(body.decode("cp1256"))
        assert article.title in text and article.paragraphs[-1] in text, outlet


def test_snapshot_feed_lists_only_articles_that_exist(snapshot_server: SnapshotServer) -> None:
    status, headers, body = get(snapshot_server.url + "/skynews/rss.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    items = [
        link for link in xml_links(body) if "/skynews/" in link and link != snapshot_server.url + "/skynews/"
    ]
    assert len(items) >= 50
    assert all(get(link)[0] == 200 for link in items)


def test_snapshot_sitemap_index_leads_to_gzipped_sitemaps_and_articles(
    snapshot_server: SnapshotServer,
) -> None:
    sitemaps = xml_links(get(snapshot_server.url + "/france24/sitemap-index.xml")[2])
    status, headers, gz = get(sitemaps[-1])
    assert status == 200 and headers["Content-Type"] == "application/x-gzip"
    articles = xml_links(gzip.decompress(gz))
    assert articles and all(get(link)[0] == 200 for link in articles)
    paths = {a.url(snapshot_server.url) for a in snapshot_server.snapshot.articles_of("france24")}
    assert set(articles) <= paths


def test_snapshot_sources_file_points_at_the_running_server(snapshot_server: SnapshotServer) -> None:
    sources = load_sources(snapshot_server.sources_file)
    assert len(sources) == len(snapshot_server.snapshot.outlets)
    assert all(s.url.startswith(snapshot_server.url + "/") for s in sources)
    assert get(snapshot_server.url + "/robots.txt")[2].startswith(b"User-agent: *\nDisallow: /*/private/")


def test_replay_process_reports_the_childs_error_when_the_data_is_missing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"replay server did not start \(exit 2.*no articles\.jsonl in "):
        with ReplayProcess(tmp_path / "nowhere", size=10):
            pass


def test_replay_cli_prints_the_url_first_and_exits_cleanly_on_sigterm(shared_data: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "snapshot", "--data", str(shared_data), "--size", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:")
        assert get(url + "/skynews/")[0] == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()
