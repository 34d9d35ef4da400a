"""A drill's side: people seeded on the drill database, real recordings pushed through the HTTP
upload protocol with a donor's API token, a curator and an admin acting over HTTP, and the
invariants every drill asserts, read straight from the drill database and bucket."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from tests.drills.stack import DATABASE_URL, ROOT, SITE_URL, Stack, wait_until

REAL = ROOT.parent / "shared" / "samples" / "real"
LOCAL = ROOT / "tests" / "processing" / "motion" / "data"

# Real recordings (PROVENANCE.md in ../shared/samples/real): the BVH files get a different
# number of trailing newlines per drill, so each is new content; replays are sent as they are.
RECORDINGS: list[tuple[Path, str]] = [
    (REAL / "xror" / "sample1.xror", "xror"),
    (REAL / "bsor" / "xror_sample1.bsor", "bsor"),
    (REAL / "bvh" / "cmu_01_01_fairmotion.bvh", "bvh"),
    (REAL / "bvh" / "pfnn_hierarchy_fairmotion.bvh", "bvh"),
    (REAL / "bvh" / "sinusoidal_fairmotion.bvh", "bvh"),
    (LOCAL / "pfnn_hierarchy_fairmotion.bvh", "bvh"),
    (LOCAL / "sinusoidal_fairmotion.bvh", "bvh"),
    (LOCAL / "cmu_01_01_fairmotion.bvh", "bvh"),
    (REAL / "bsor" / "xror_sample2.bsor", "bsor"),
    (REAL / "bvh" / "pfnn_hierarchy_fairmotion.bvh", "bvh"),
]
FINAL = {"processed", "accepted", "declined", "rejected", "failed", "withdrawn", "abandoned"}
RUNNING = {"created", "uploaded", "processing"}


def recordings(salt: int, count: int = 10) -> list[tuple[bytes, str]]:
    out = []
    for i, (path, ext) in enumerate(RECORDINGS[:count]):
        data = path.read_bytes()
        if ext == "bvh":
            data += b"\n" * (1 + salt * len(RECORDINGS) + i)
        out.append((data, ext))
    return out


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- Database reads ------------------------------------------------------------------------------


def query(sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(DATABASE_URL, connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def statuses(donor_id: int) -> dict[str, str]:
    rows = query("SELECT id::text, status FROM donations_donation WHERE donor_id = %s", donor_id)
    return dict(rows)


def statuses_or_none(donor_id: int) -> dict[str, str] | None:
    """None while the database is unreachable (a drill may have it down)."""
    try:
        return statuses(donor_id)
    except psycopg.OperationalError:
        return None


# --- People ---------------------------------------------------------------------------------------


@dataclass
class People:
    stack: Stack
    label: str
    donor_id: int
    token: str
    curator_session: str
    admin_session: str
    donations: list[str] = field(default_factory=list)

    @classmethod
    def seed(cls, stack: Stack, label: str, scopes: tuple[str, ...] = ()) -> People:
        env = {**stack.env, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "tests/drills/seed.py", label, *scopes],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        data = json.loads(done.stdout.strip().splitlines()[-1])
        return cls(stack=stack, label=label, **data)

    # The donor's script: the upload protocol of README "Uploads", with a token.

    def _api(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def upload(self, content: bytes, extension: str) -> str:
        api = self._api()
        opened = api.post(
            f"{SITE_URL}/api/uploads/",
            json={
                "files": [
                    {
                        "kind": "motion",
                        "size": len(content),
                        "extension": extension,
                        "content_type": "",
                    }
                ]
            },
            timeout=30,
        )
        assert opened.status_code == 201, (opened.status_code, opened.text[:500])
        body = opened.json()
        [session] = body["sessions"]
        size = session["part_size"]
        for number in range(1, session["part_count"] + 1):
            part = content[(number - 1) * size : number * size]
            signed = api.post(
                f"{SITE_URL}/api/uploads/{session['id']}/parts/{number}/sign/",
                json={"checksum_sha256": b64sha(part)},
                timeout=30,
            )
            assert signed.status_code == 200, (signed.status_code, signed.text[:500])
            target = signed.json()
            put = requests.request(
                target.get("method", "PUT"),
                target["url"],
                data=part,
                headers=target["headers"],
                timeout=60,
            )
            assert put.status_code == 200, (put.status_code, put.text[:500])
        done = api.post(f"{SITE_URL}/api/uploads/{session['id']}/complete/", timeout=60)
        assert done.status_code == 200, (done.status_code, done.text[:500])
        donation_id = str(body["donation"])
        self.donations.append(donation_id)
        return donation_id

    def upload_all(self, salt: int, count: int = 10) -> float:
        started = time.monotonic()
        for content, ext in recordings(salt, count):
            self.upload(content, ext)
        return time.monotonic() - started

    # Staff over HTTP, with the sessions the seed signed in.

    def _staff(self, session_key: str, page: str) -> tuple[requests.Session, str]:
        browser = requests.Session()
        browser.cookies.set("sessionid", session_key, domain="127.0.0.1")
        response = browser.get(f"{SITE_URL}{page}", timeout=30)
        assert response.status_code == 200, (page, response.status_code)
        return browser, browser.cookies.get("csrftoken") or ""

    def accept(self, donation_id: str) -> requests.Response:
        """The curator accepts on the review form, as the page posts it."""
        browser, csrf = self._staff(self.curator_session, "/curate/")
        return browser.post(
            f"{SITE_URL}/curate/donations/{donation_id}/review/",
            data={"decision": "accept", "csrfmiddlewaretoken": csrf},
            headers={"X-CSRFToken": csrf, "Referer": f"{SITE_URL}/curate/"},
            allow_redirects=False,
            timeout=60,
        )

    def admin_action(self, model_path: str, action: str, ids: list[str | int]) -> None:
        """An admin runs an action of the Django admin's change list on the selected rows."""
        page = f"/admin/{model_path}/"
        browser, csrf = self._staff(self.admin_session, page)
        response = browser.post(
            f"{SITE_URL}{page}",
            data={
                "action": action,
                "_selected_action": [str(i) for i in ids],
                "index": "0",
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": f"{SITE_URL}{page}"},
            allow_redirects=False,
            timeout=60,
        )
        assert response.status_code == 302, (response.status_code, response.text[:500])

    # Waiting and checking.

    def statuses(self) -> dict[str, str]:
        return statuses(self.donor_id)

    def wait_all(self, allowed: set[str], *, timeout: float, what: str) -> dict[str, str]:
        def settled() -> dict[str, str] | None:
            current = statuses_or_none(self.donor_id)
            if current is None or len(current) < len(self.donations):
                return None
            return current if set(current.values()) <= allowed else None

        try:
            return wait_until(settled, timeout=timeout, what=what, step=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; statuses: {Counter(self.statuses().values())}") from exc

    def wait_any(self, wanted: set[str], *, count: int = 1, timeout: float = 120) -> None:
        wait_until(
            lambda: (
                sum(s in wanted for s in (statuses_or_none(self.donor_id) or {}).values()) >= count
            ),
            timeout=timeout,
            what=f"{count} donation(s) in {sorted(wanted)}",
        )

    def accept_processed(self) -> None:
        for donation_id, status in self.statuses().items():
            if status == "processed":
                response = self.accept(donation_id)
                assert response.status_code == 302, (response.status_code, response.text[:300])

    def awards(self) -> Counter[str]:
        rows = query(
            "SELECT e.donation_id::text FROM rewards_ledgerentry e"
            " JOIN donations_donation d ON d.id = e.donation_id"
            " WHERE d.donor_id = %s AND e.kind = 'award'",
            self.donor_id,
        )
        return Counter(r[0] for r in rows)

    def wait_awards(self, *, timeout: float = 90) -> None:
        accepted = {d for d, s in self.statuses().items() if s == "accepted"}
        wait_until(
            lambda: set(self.awards()) >= accepted,
            timeout=timeout,
            what="an award for every accepted donation",
        )

    def check_invariants(self, *, expect: set[str]) -> dict[str, int]:
        """What every drill asserts once things are final; returns the status counts."""
        current = self.statuses()
        # Nothing lost, nothing extra: exactly the donations the donor's script made.
        assert sorted(current) == sorted(self.donations), "donations lost or made twice"
        assert len(set(self.donations)) == len(self.donations)
        # Every donation in a final state this drill expects.
        assert set(current.values()) <= expect, Counter(current.values())
        # One file row per uploaded file, each under its own key, with the whole file's hash.
        files = query(
            "SELECT d.id::text, f.storage_key, f.sha256, f.kind FROM donations_donationfile f"
            " JOIN donations_donation d ON d.id = f.donation_id WHERE d.donor_id = %s",
            self.donor_id,
        )
        per_donation = Counter(row[0] for row in files)
        assert all(per_donation[d] == 1 for d in current), per_donation
        assert len({row[1] for row in files}) == len(files)
        keys = set(self.stack.keys("raw/"))
        assert all(row[1] in keys for row in files), "a raw object is missing"
        # Processed once: at most one move into `processed` per donation, one artifact set.
        moves = query(
            "SELECT h.donation_id::text, count(*) FROM donations_donationstatuschange h"
            " JOIN donations_donation d ON d.id = h.donation_id"
            " WHERE d.donor_id = %s AND h.to_status = 'processed' GROUP BY 1",
            self.donor_id,
        )
        assert all(n == 1 for _, n in moves), moves
        # One artifact set: the artifacts are content-addressed (processing.services:
        # processed/<sha256 of "motion=<file sha256>">/v<pipeline>/), so every folder under a
        # donation's content is the prefix of some donation: nothing written and left behind.
        used = {row[0] for row in query("SELECT DISTINCT artifact_prefix FROM donations_donation")}
        done = dict(
            query(
                "SELECT id::text, artifact_prefix FROM donations_donation"
                " WHERE donor_id = %s AND status IN ('processed', 'accepted')",
                self.donor_id,
            )
        )
        for donation_id, _key, sha256, kind in files:
            content = hashlib.sha256(f"{kind}={sha256}".encode()).hexdigest()
            folders = {
                "/".join(k.split("/")[:3]) + "/" for k in self.stack.keys(f"processed/{content}/")
            }
            assert folders <= used, ("orphan artifacts", donation_id, sorted(folders - used))
            if donation_id in done:
                prefix = done[donation_id]
                assert prefix in folders, (donation_id, prefix, folders)
                names = {k[len(prefix) :] for k in self.stack.keys(prefix)}
                assert {"motion.parquet", "metadata.json"} <= names, (donation_id, names)
        # No second award: at most one ledger award per donation, exactly one when accepted.
        awards = self.awards()
        assert all(n == 1 for n in awards.values()), awards
        accepted = {d for d, s in current.items() if s == "accepted"}
        assert set(awards) == accepted, (len(awards), len(accepted))
        return dict(Counter(current.values()))
