from django.urls import include, path
from rest_framework.routers import DefaultRouter, SimpleRouter

from consent.api import (
    AccountDeleteView,
    ConsentDocumentViewSet,
    ConsentEventViewSet,
    DonationWithdrawView,
)
from donations.api import (
    DonationViewSet,
    UploadAbortView,
    UploadCompleteView,
    UploadOpenView,
    UploadPartListView,
    UploadPartSignView,
    UploadSessionView,
)
from releases.api import DatasetViewSet, ReleaseViewSet
from rewards.api import BalanceView, LedgerEntryViewSet, PayoutViewSet, RuleCurrentView

app_name = "api"


class ApiRouter(DefaultRouter):
    """No format-suffix routes (`.json`): the API answers JSON anyway, and its actions do not
    take a `format` argument. The pages' feeds keep their own `.json` URLs."""

    include_format_suffixes = False


# Path converters, not regexes: an id that is not a UUID never reaches a view (404).
router = ApiRouter(use_regex_path=False)
router.register("donations", DonationViewSet, basename="donation")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("consent/documents", ConsentDocumentViewSet, basename="consent-document")
router.register("consent/events", ConsentEventViewSet, basename="consent-event")
router.register("rewards/ledger", LedgerEntryViewSet, basename="reward-ledger")
router.register("rewards/payouts", PayoutViewSet, basename="reward-payout")

# Versions are matched by ReleaseViewSet.lookup_value_regex; no second API root under a dataset.
releases = SimpleRouter()
releases.register("releases", ReleaseViewSet, basename="release")

urlpatterns = [
    path(
        "donations/<uuid:donation_id>/withdraw/",
        DonationWithdrawView.as_view(),
        name="donation-withdraw",
    ),
    path("account/delete/", AccountDeleteView.as_view(), name="account-delete"),
    path("rewards/rule/", RuleCurrentView.as_view(), name="reward-rule"),
    path("rewards/balance/", BalanceView.as_view(), name="reward-balance"),
    path("", include(router.urls)),
    path("uploads/", UploadOpenView.as_view(), name="upload-list"),
    path("uploads/<uuid:session_id>/", UploadSessionView.as_view(), name="upload-detail"),
    path("uploads/<uuid:session_id>/parts/", UploadPartListView.as_view(), name="upload-parts"),
    path(
        "uploads/<uuid:session_id>/parts/<int:part_number>/sign/",
        UploadPartSignView.as_view(),
        name="upload-part-sign",
    ),
    path(
        "uploads/<uuid:session_id>/complete/",
        UploadCompleteView.as_view(),
        name="upload-complete",
    ),
    path("uploads/<uuid:session_id>/abort/", UploadAbortView.as_view(), name="upload-abort"),
    path("datasets/<slug:dataset_slug>/", include(releases.urls)),
]
