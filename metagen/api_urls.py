from django.urls import include, path
from rest_framework.routers import DefaultRouter

from donations.api import DonationViewSet
from releases.api import DatasetViewSet, ReleaseViewSet

app_name = "api"

router = DefaultRouter()
router.register("donations", DonationViewSet, basename="donation")
router.register("datasets", DatasetViewSet, basename="dataset")

releases = DefaultRouter()
releases.register("releases", ReleaseViewSet, basename="release")

urlpatterns = [
    path("", include(router.urls)),
    path("datasets/<slug:dataset_slug>/", include(releases.urls)),
]
