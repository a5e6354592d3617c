"""Access log readers: formats, gzip, field mapping, skipped lines, refused files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from runtime_traffic import ATTACKERS, Scenario, fake_jwt, write_combined, write_jsonl

from ledger.errors import InputError
from ledger.runtime import EnumerationPolicy, scan_logs
from ledger.runtime.accesslog import ReadStats, read_requests


def _subjects(path: Path, **kwargs: object) -> set[str]:
    scan = scan_logs([path], EnumerationPolicy(), **kwargs)  # type: ignore[arg-type]
    return {f.properties["subject"] for f in scan.findings}


def test_combined_gzip_with_subjects_from_logged_tokens(tmp_path: Path, scenario: Scenario) -> None:
    log = write_combined(scenario.lines, tmp_path / "access.log.gz", tokens=True)

    scan = scan_logs([log], EnumerationPolicy())

    assert {f.properties["subject"] for f in scan.findings} == set(ATTACKERS)
    # The token is read to attribute, never trusted: findings say so.
    assert {f.properties["subject_source"] for f in scan.findings} == {"token"}


def test_combined_user_field_and_gzip_detected_by_magic_not_name(
    tmp_path: Path, scenario: Scenario
) -> None:
    plain = write_combined(scenario.lines, tmp_path / "plain.log")
    rotated = tmp_path / "access.log.1"
    rotated.write_bytes(gzip.compress(plain.read_bytes()))

    assert _subjects(rotated) == set(ATTACKERS)


def test_field_mapping_and_epoch_milliseconds(tmp_path: Path, scenario: Scenario) -> None:
    log = tmp_path / "access.jsonl"
    with log.open("w") as out:
        for line in scenario.lines:
            out.write(
                json.dumps(
                    {
                        "ts": int(line.time * 1000),
                        "verb": line.method,
                        "url": line.path,
                        "code": str(line.status),
                        "auth": {"user_id": line.sub},
                        "client": line.ip,
                    }
                )
                + "\n"
            )
    fields = {
        "time": "ts",
        "method": "verb",
        "path": "url",
        "status": "code",
        "sub": "auth.user_id",
        "ip": "client",
    }

    assert _subjects(log, fields=fields) == set(ATTACKERS)


def test_jsonl_token_field_attributes_anonymous_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text(
        json.dumps(
            {
                "time": "2026-03-02T08:00:00+01:00",
                "path": "/x/1",
                "status": 200,
                "authorization": f"Bearer {fake_jwt('zoe')}",
            }
        )
        + "\n"
    )

    (request,) = read_requests(log, None, {"token": "authorization"})

    assert (request.subject, request.subject_source) == ("zoe", "token")
    assert request.time == 1_772_434_800.0


def test_malformed_lines_are_skipped_counted_and_located(
    tmp_path: Path, scenario: Scenario
) -> None:
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")
    lines = log.read_text().splitlines()
    lines[76] = lines[76][:40]  # torn write
    lines[900] = '{"time": "yesterday", "path": "/a", "status": 200}'
    log.write_text("\n".join(lines) + "\n")

    scan = scan_logs([log], EnumerationPolicy())

    assert (scan.files[0].skipped, scan.files[0].first_skipped) == (2, (77, "not a JSON object"))
    assert {f.properties["subject"] for f in scan.findings} == set(ATTACKERS)
    assert "2 unreadable line(s) skipped (first: " in scan.summary()
    assert "line 77: not a JSON object" in scan.summary()


def test_an_endless_line_is_skipped_without_being_held(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    good = json.dumps({"time": 1_772_438_400, "path": "/x/1", "status": 200, "sub": "a"})
    log.write_bytes(good.encode() + b"\n" + b"x" * (3 << 20) + b"\n" + good.encode() + b"\n")
    stats = ReadStats(log, "jsonl")

    assert len(list(read_requests(log, None, None, stats))) == 2
    assert stats.first_skipped == (2, "longer than 1048576 bytes")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (
            b"\x00\x01\x02\xff\xfe junk\n" * 100,
            "not a combined access log (line 1: not in Combined",
        ),
        (
            b'[\n  {"time": 1, "path": "/a/1", "status": 200}\n]\n',
            "line 1: a JSON array, not JSON Lines. Write one request object per line, "
            "e.g. jq -c '.[]' FILE > FILE.jsonl",
        ),
        (
            b"#Software: Microsoft Internet Information Services 10.0\n"
            b"2026-03-02 08:00:01 GET /a/1 - 200\n",
            "not a w3c access log (line 2: a W3C log line before any #Fields directive)",
        ),
        (
            b'{"no": "fields"}\n' * 100,
            "not a jsonl access log (line 1: no path or status field under any usual name; "
            "name it with --field path=NAME)",
        ),
    ],
)
def test_files_that_are_not_logs_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(content)

    with pytest.raises(InputError, match="^" + str(log).replace(".", r"\.")) as caught:
        scan_logs([log], EnumerationPolicy())

    assert message in str(caught.value)


def test_truncated_gzip_is_refused_with_the_last_line_read(
    tmp_path: Path, scenario: Scenario
) -> None:
    full = write_combined(scenario.lines[:2000], tmp_path / "full.log.gz")
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    with pytest.raises(
        InputError,
        match=r"gzip stream ends early after line \d+; the file is "
        "truncated",
    ):
        scan_logs([cut], EnumerationPolicy())


def test_directory_and_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        scan_logs([tmp_path], EnumerationPolicy())
    with pytest.raises(InputError, match="cannot be opened: No such file"):
        scan_logs([tmp_path / "nope.log"], EnumerationPolicy())


def test_token_shaped_junk_costs_linear_time(tmp_path: Path) -> None:
    import time

    # A run of 'eyJ' restarted the token search at every third byte: one such
    # 1 MiB line took minutes. Each is read once now, and no huge payload is cached.
    line = '203.0.113.9 - - [02/Mar/2026:08:00:00 +0000] "GET /a/1 HTTP/1.1" 200 5 "-" "'
    log = tmp_path / "access.log"
    with log.open("wb") as out:
        for junk in (b"eyJ" * 340_000, b"eyJhbGc.eyJ" * 90_000 + b"."):
            out.write(line.encode() + junk + b'"\n')
    started = time.monotonic()

    requests = list(read_requests(log, None))

    assert time.monotonic() - started < 5
    assert [r.subject for r in requests] == [None, None]


def test_times_outside_the_calendar_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    good = {"path": "/x/1", "status": 200, "sub": "a"}
    log.write_text(
        "\n".join(
            json.dumps({**good, "time": t})
            for t in (1_772_438_400, 1e300, -5, "NaN", "99999-01-01T00:00:00Z", 1_772_438_401)
        )
    )
    stats = ReadStats(log, "jsonl")

    assert [r.time for r in read_requests(log, None, None, stats)] == [1_772_438_400, 1_772_438_401]
    assert stats.skipped == 4


def test_years_and_integers_beyond_the_calendar_are_skipped_not_raised(tmp_path: Path) -> None:
    # A year past what ``datetime`` takes overflowed the C integer in calendar.timegm,
    # and an integer time beyond any float overflowed its division: both tracebacks.
    clf = tmp_path / "access.log"
    clf.write_text(
        '203.0.113.9 - - [02/Mar/99999999999999999:08:00:00 +0000] "GET /a/1 HTTP/1.1" 200 5\n'
        '203.0.113.9 - - [02/Mar/2026:08:00:00 +0000] "GET /a/2 HTTP/1.1" 200 5\n'
    )
    stats = ReadStats(clf, "combined")
    assert [r.path for r in read_requests(clf, None, None, stats)] == ["/a/2"]
    assert stats.skipped == 1

    log = tmp_path / "a.jsonl"
    good = '"path": "/x/1", "status": 200'
    log.write_text(
        f'{{{good}, "time": "02/Mar/99999999999999999:08:00:00 +0000"}}\n'
        f'{{{good}, "time": {10**400}}}\n'
        f'{{{good}, "time": 1772438400}}\n'
    )
    stats = ReadStats(log, "jsonl")
    assert [r.time for r in read_requests(log, None, None, stats)] == [1_772_438_400]
    assert stats.skipped == 2


def test_w3c_lines_shorter_than_a_fields_directive_with_repeated_names(tmp_path: Path) -> None:
    # A repeated name counted once made the directive look shorter than it is, and a
    # line long enough for the names but not for the last column raised IndexError.
    log = tmp_path / "u_ex.log"
    log.write_text(
        "#Fields: date time cs-uri-stem sc-status sc-status sc-status\n"
        "2026-03-02 08:00:00 /a/1 200 200\n"
        "2026-03-02 08:00:01 /a/2 200 200 200\n"
    )
    stats = ReadStats(log, "w3c")
    assert [r.path for r in read_requests(log, None, None, stats)] == ["/a/2"]
    assert stats.first_skipped == (2, "5 fields where #Fields names 6")


def test_forwarded_chains_of_thousands_cost_no_more_than_their_last_hops(tmp_path: Path) -> None:
    import time

    from ledger.runtime.accesslog import MAX_HOPS, forwarded_client

    chain = ",".join(["10.0.0.1"] * 100_000 + ["198.51.100.7"] + ["10.0.0.2"] * (MAX_HOPS - 1))
    assert forwarded_client("10.0.0.3", chain) == "198.51.100.7"
    log = tmp_path / "a.jsonl"
    hops = "1," * 500_000
    log.write_text(
        f'{{"time": 1772438400, "path": "/x/1", "status": 200, "x_forwarded_for": "{hops}1"}}\n'
    )
    started = time.monotonic()
    assert len(list(read_requests(log, None))) == 1
    assert time.monotonic() - started < 1


def test_a_json_status_must_be_an_integer_or_three_ascii_digits(tmp_path: Path) -> None:
    log = tmp_path / "status.jsonl"
    statuses = [200, "404", True, 2.5, "\u0662\u0660\u0660", 1e308, "20", 42, None]
    lines = [
        json.dumps({"time": 1_772_438_400 + i, "path": f"/a/{i}", "status": status})
        for i, status in enumerate(statuses)
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = ReadStats(log, "jsonl")
    assert [(r.path, r.status) for r in read_requests(log, None, None, stats)] == [
        ("/a/0", 200),
        ("/a/1", 404),
    ]
    assert stats.skipped == 7
    assert stats.first_skipped == (3, "'status' is not an HTTP status")
