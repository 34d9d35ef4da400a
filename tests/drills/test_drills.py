"""Fault drills (issue 11, point 18) on the production shape: PostgreSQL, append-only Redis, the
S3 server, gunicorn, a worker with two processes and beat, all real processes on this machine
(tests/drills/stack.py). Each drill pushes ten real recordings through the HTTP upload
protocol, injects one fault while they are processed, and then asserts that every donation
ended in a final state with nothing lost, nothing duplicated and no second award. Each prints
one `DRILL {json}` line with how long recovery took (from the end of the fault until every
donation was final); tests/drills/README.md keeps the figures.
"""

import time

import pytest

from tests.drills.drill import People, query, statuses_or_none
from tests.drills.stack import BUCKET, SITE_URL, Stack, record, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.timeout(420)]

ACCEPTED = {"accepted"}


def _finish(people: People, name: str, fault_end: float, extra: dict | None = None) -> None:
    """Every donation processed: accept them over HTTP, wait for the awards, check and record."""
    people.wait_all({"processed"}, timeout=240, what="every donation processed")
    recovery = time.monotonic() - fault_end
    people.accept_processed()
    people.wait_all(ACCEPTED, timeout=30, what="every donation accepted")
    people.wait_awards()
    counts = people.check_invariants(expect=ACCEPTED)
    record({"drill": name, "recovery_s": round(recovery, 1), "statuses": counts, **(extra or {})})


def _mid_processing(people: People) -> None:
    """Return once a donation is being processed and others still wait (fault time)."""
    people.wait_any({"processing"}, timeout=60)


def test_a_pool_child_killed_mid_task(stack: Stack) -> None:
    people = People.seed(stack, "a")
    stack.roles_start()
    people.upload_all(salt=1)
    _mid_processing(people)
    stack.worker_kill_busy_child()
    fault_end = time.monotonic()
    _finish(people, "a: kill -9 of a pool child mid-task", fault_end)


def test_b_worker_main_process_killed_then_restarted(stack: Stack) -> None:
    people = People.seed(stack, "b")
    stack.roles_start()
    people.upload_all(salt=2)
    _mid_processing(people)
    # kill -9 of the main process; its pool children die with it, as they do when the
    # container (or the systemd unit's cgroup) of a killed worker goes.
    stack.worker_kill_main()
    stack.kill_worker_orphans()
    time.sleep(2)
    stack.worker_start()
    fault_end = time.monotonic()
    _finish(people, "b: kill -9 of the worker's main process, restart", fault_end)


@pytest.mark.parametrize("kill", [False, True], ids=["restarted", "killed"])
def test_c_redis_restarted_mid_processing(stack: Stack, kill: bool) -> None:
    people = People.seed(stack, f"c{int(kill)}")
    stack.roles_start()
    people.upload_all(salt=3 + int(kill))
    _mid_processing(people)
    stack.redis_stop(kill=kill)
    time.sleep(3)
    stack.redis_start()
    fault_end = time.monotonic()
    how = "kill -9" if kill else "SIGTERM"
    _finish(people, f"c: Redis stopped ({how}) mid-processing, restarted", fault_end)


def test_d_postgres_restarted_mid_processing(stack: Stack) -> None:
    people = People.seed(stack, "d")
    stack.roles_start()
    people.upload_all(salt=5)
    _mid_processing(people)
    stack.postgres_stop(mode="fast")
    time.sleep(5)
    stack.postgres_start()
    fault_end = time.monotonic()
    _finish(people, "d: PostgreSQL restarted mid-processing", fault_end)


def test_e_object_storage_down_60s_during_processing(stack: Stack) -> None:
    people = People.seed(stack, "e")
    stack.roles_start()
    people.upload_all(salt=6)
    _mid_processing(people)
    stack.storage.stop()
    time.sleep(60)
    stack.storage.start()
    fault_end = time.monotonic()
    _finish(people, "e: object storage down 60 s during processing", fault_end)


def test_f_storage_down_past_retries_then_admin_retry(stack: Stack) -> None:
    people = People.seed(stack, "f")
    stack.env.update(PROCESSING_MAX_RETRIES="2", PROCESSING_RETRY_BACKOFF_S="1")
    stack.roles_start()
    people.upload_all(salt=7)
    _mid_processing(people)
    stack.storage.stop()
    # Down until processing has given up on every donation it had not finished.
    settled = people.wait_all(
        {"processed", "failed"}, timeout=180, what="processing to give up on storage"
    )
    stack.storage.start()
    failed = [d for d, s in settled.items() if s == "failed"]
    assert failed, "storage went down too late: every donation was processed already"
    codes = query(
        "SELECT DISTINCT problem_code FROM donations_donation WHERE donor_id = %s"
        " AND status = 'failed'",
        people.donor_id,
    )
    assert codes == [("processing.storage_unavailable",)]
    fault_end = time.monotonic()
    people.admin_action("donations/donation", "retry_failed", failed)
    _finish(
        people,
        "f: object storage down past the retries, then an admin retry",
        fault_end,
        {"failed_then_retried": len(failed)},
    )


@pytest.mark.timeout(600)
def test_g_storage_down_during_release_last_step(stack: Stack) -> None:
    people = People.seed(stack, "g", ("motion:open_release", "motion:commercial"))
    stack.roles_start()
    people.upload_all(salt=8)
    people.wait_all({"processed"}, timeout=180, what="every donation processed")
    people.accept_processed()
    people.wait_awards()
    # Storage goes away the moment the final step stores the manifest.
    manifest = rb"/releases/drill-g/1\.0\.0/manifest\.json"
    stack.storage.trip_on(rb"(PUT|HEAD|GET) /" + BUCKET.encode() + manifest)
    browser, csrf = people._staff(people.curator_session, "/curate/")
    response = browser.post(
        f"{SITE_URL}/curate/releases/new/",
        data={"dataset": "drill-g", "version": "1.0.0", "csrfmiddlewaretoken": csrf},
        allow_redirects=False,
        timeout=60,
    )
    assert response.status_code == 302
    wait_until(stack.storage.tripped.is_set, timeout=120, what="the build's final step")
    failed = wait_until(
        lambda: query(
            "SELECT r.id, r.failed_step FROM releases_release r JOIN releases_dataset d"
            " ON d.id = r.dataset_id WHERE d.slug = 'drill-g' AND r.status = 'failed'"
        ),
        # The final step retries passing faults first (RELEASE_STEP_MAX_RETRIES, 2 in the
        # drills, from RELEASE_RETRY_BACKOFF_S); storage stays down until it gives up.
        timeout=180,
        what="the release to record its failed build",
    )
    [(release_id, failed_step)] = failed
    assert "final" in failed_step, failed_step  # the step that failed is recorded
    time.sleep(5)
    stack.storage.start()
    fault_end = time.monotonic()
    retried = browser.post(
        f"{SITE_URL}/curate/releases/{release_id}/retry/",
        data={"csrfmiddlewaretoken": csrf},
        allow_redirects=False,
        timeout=60,
    )
    assert retried.status_code == 302
    wait_until(
        lambda: (
            query("SELECT status FROM releases_release WHERE id = %s", release_id) == [("built",)]
        ),
        timeout=120,
        what="the retried release to be built",
    )
    recovery = time.monotonic() - fault_end
    rows = query("SELECT path FROM releases_releasefile WHERE release_id = %s", release_id)
    files = {path for (path,) in rows}
    prefix = "releases/drill-g/1.0.0/"
    stored = {key[len(prefix) :] for key in stack.keys(prefix)}
    assert stored == files, (sorted(stored - files), sorted(files - stored))
    [(items,)] = query(
        "SELECT count(*) FROM releases_releaseitem WHERE release_id = %s", release_id
    )
    assert items == len(people.donations)
    counts = people.check_invariants(expect=ACCEPTED)
    record(
        {
            "drill": "g: object storage down during a release's final step, retried",
            "recovery_s": round(recovery, 1),
            "statuses": counts,
            "release_files": len(files),
        }
    )


def test_h_redis_down_while_curator_accepts(stack: Stack) -> None:
    people = People.seed(stack, "h")
    stack.roles_start()
    people.upload_all(salt=9)
    people.wait_all({"processed"}, timeout=180, what="every donation processed")
    # The curator has the queue open (its form's CSRF token) when Redis goes down.
    browser, csrf = people._staff(people.curator_session, "/curate/")
    stack.redis_stop()
    for donation_id in people.donations:
        answer = browser.post(
            f"{SITE_URL}/curate/donations/{donation_id}/review/",
            data={"decision": "accept", "csrfmiddlewaretoken": csrf},
            allow_redirects=False,
            timeout=60,
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:300])
        # ... and the page it is sent back to.
        page = browser.get(f"{SITE_URL}{answer.headers['Location']}", timeout=60)
        assert page.status_code == 200, (answer.headers["Location"], page.status_code)
    assert set(people.statuses().values()) == ACCEPTED
    stack.redis_start()
    fault_end = time.monotonic()
    people.wait_awards(timeout=120)
    recovery = time.monotonic() - fault_end
    time.sleep(10)  # a few more sweeps: the award must not come twice
    counts = people.check_invariants(expect=ACCEPTED)
    record(
        {
            "drill": "h: Redis down while a curator accepts",
            "recovery_s": round(recovery, 1),
            "statuses": counts,
        }
    )


def test_i_temporary_disk_full_during_processing(stack: Stack) -> None:
    people = People.seed(stack, "i")
    tmp = stack.tmpfs("small-tmp", "24m")
    filler = tmp / "filler"
    with filler.open("wb") as fh:  # fill the disk to the last byte
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
                fh.flush()
        except OSError:
            pass
    # ... but one page: Python's tempfile tries a small file in TMPDIR and falls back to /tmp
    # when it cannot write one. No recording fits in a page.
    with filler.open("r+b") as fh:
        fh.truncate(filler.stat().st_size - 4096)
    stack.web_start()
    stack.worker_start(TMPDIR=str(tmp))  # the worker's temporary folder only
    stack.beat_start()
    people.upload_all(salt=10)
    # Its own fault (processing.disk_full once retries are spent), retried meanwhile.
    wait_until(
        lambda: "disk_full fault, retry" in stack.log("worker"),
        timeout=90,
        what="the worker to retry on the full disk",
    )
    time.sleep(10)
    assert all(s != "processed" for s in (statuses_or_none(people.donor_id) or {}).values())
    filler.unlink()
    fault_end = time.monotonic()
    _finish(people, "i: temporary disk full during processing", fault_end)
