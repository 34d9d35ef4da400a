"""The withdrawal feed of a dataset, as JSON and as Atom: pseudonymous recording ids that donors
withdrew after they went into a public release, so holders of downloaded copies delete them."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import feedgenerator
from django.utils.translation import gettext as _

from releases.models import Dataset
from releases.selectors import Withdrawal


def _entries(withdrawals: list[Withdrawal]) -> list[dict[str, Any]]:
    return [
        {
            "recording_id": w.recording_id,
            "withdrawn_at": w.withdrawn_at.isoformat() if w.withdrawn_at else None,
            "releases": w.releases,
        }
        for w in withdrawals
    ]


def withdrawals_payload(*, dataset: Dataset, withdrawals: list[Withdrawal]) -> dict[str, Any]:
    """The JSON document (also the API's answer)."""
    return {
        "dataset": dataset.slug,
        "description": (
            "Recordings withdrawn by their donors after they went into a release of this "
            "dataset. Delete the rows with these recording_id values from any copy you hold."
        ),
        "withdrawals": _entries(withdrawals),
    }


def withdrawals_json(
    *, request: HttpRequest, dataset: Dataset, withdrawals: list[Withdrawal]
) -> JsonResponse:
    response = JsonResponse(withdrawals_payload(dataset=dataset, withdrawals=withdrawals))
    response["Cache-Control"] = "public, max-age=300"
    return response


def withdrawals_atom(
    *, request: HttpRequest, dataset: Dataset, withdrawals: list[Withdrawal]
) -> HttpResponse:
    link = request.build_absolute_uri(reverse("releases:dataset", args=[dataset.slug]))
    feed_url = request.build_absolute_uri(reverse("releases:withdrawals_atom", args=[dataset.slug]))
    feed = feedgenerator.Atom1Feed(
        title=_("Withdrawals from %(title)s") % {"title": dataset.title},
        link=link,
        description=_("Recordings to delete from downloaded copies of %(title)s.")
        % {"title": dataset.title},
        feed_url=feed_url,
        id=f"{feed_url}",
    )
    for w in withdrawals:
        versions = ", ".join(w.releases)
        feed.add_item(
            title=w.recording_id,
            link=f"{link}#withdrawn-{w.recording_id}",
            description=_("Withdrawn by the donor. In release(s): %(versions)s.")
            % {"versions": versions},
            unique_id=f"urn:metagen:{dataset.slug}:withdrawn:{w.recording_id}",
            pubdate=w.withdrawn_at,
            updateddate=w.withdrawn_at,
            categories=w.releases,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
