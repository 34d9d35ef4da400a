"""axe-core (vendored in tests/vendor/axe-core) on the donor's pages, in headless Chromium.

The issue's bar: no serious or critical violation on the consent, upload and dashboard pages.
Minor and moderate findings are printed so they can be fixed, but do not fail the run.
"""

from pathlib import Path

import pytest

from consent.services import consent_grant
from tests.conftest import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def _violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    # Evaluated through the DevTools protocol: the site's CSP refuses an injected inline script.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def _describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']}: {v['help']} ({len(v['nodes'])}x: "
        f"{', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in violations
    )


@pytest.mark.parametrize(
    ("path", "needs_consent"),
    [
        ("/consent/", False),
        ("/donations/upload/", True),
        ("/donations/", True),
        ("/consent/history/", True),
    ],
)
def test_donor_pages_have_no_serious_or_critical_accessibility_violation(
    page, live_server, donor, consent_document, path, needs_consent
):
    if needs_consent:
        consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    browser_sign_in(page, live_server, donor)
    response = page.goto(live_server.url + path)
    assert response is not None
    assert response.status == 200

    violations = _violations(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    if violations:
        print(f"{path}:\n{_describe(violations)}")
    assert not blocking, f"{path}:\n{_describe(blocking)}"


def test_the_accessibility_check_catches_a_serious_violation(page, live_server):
    # The check itself must be able to fail: an image without a text alternative and a form
    # field without a label are serious or critical in axe-core's rules.
    page.goto(live_server.url + "/health/")
    page.set_content('<main><img src="x.png"><input type="text"></main>')
    blocking = [v for v in _violations(page) if v["impact"] in BLOCKING]
    assert {"image-alt", "label"} <= {v["id"] for v in blocking}
