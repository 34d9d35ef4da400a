from django.urls import include, path
from rest_framework.routers import DefaultRouter

from consent.api import (
    AccountDeleteView,
    ConsentDocumentViewSet,
    ConsentEventViewSet,
    DonationWithdrawView,
)
from donations.api import DonationViewSet
from releases.api import DatasetViewSet, ReleaseViewSet

app_name = "api"

router = DefaultRouter()
router.register("donations", DonationViewSet, basename="donation")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("consent/documents", ConsentDocumentViewSet, basename="consent-document")
router.register("consent/events", ConsentEventViewSet, basename="consent-event")

releases = DefaultRouter()
releases.register("releases", ReleaseViewSet, basename="release")

urlpatterns = [
    path(
        "donations/<uuid:donation_id>/withdraw/",
        DonationWithdrawView.as_view(),
        name="donation-withdraw",
    ),
    path("account/delete/", AccountDeleteView.as_view(), name="account-delete"),
    path("", include(router.urls)),
    path("datasets/<slug:dataset_slug>/", include(releases.urls)),
]
