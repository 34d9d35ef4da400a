from django.urls import path

from releases import views

app_name = "releases"
urlpatterns = [
    path("datasets/", views.catalogue, name="catalogue"),
    path("datasets/metagen_download.py", views.downloader, name="downloader"),
    path("datasets/<slug:slug>/", views.dataset_detail, name="dataset"),
    path("datasets/<slug:slug>/agreement/", views.dataset_agreement, name="agreement"),
    path(
        "datasets/<slug:slug>/withdrawals.json",
        views.dataset_withdrawals,
        {"fmt": "json"},
        name="withdrawals_json",
    ),
    path(
        "datasets/<slug:slug>/withdrawals.atom",
        views.dataset_withdrawals,
        {"fmt": "atom"},
        name="withdrawals_atom",
    ),
    path("datasets/<slug:slug>/<str:version>/", views.release_detail, name="release"),
    path(
        "datasets/<slug:slug>/<str:version>/files/<path:path>",
        views.release_file_download,
        name="file",
    ),
    path("curate/releases/new/", views.release_create_view, name="create"),
    path("curate/releases/<int:release_id>/publish/", views.release_publish_view, name="publish"),
    path("curate/releases/<int:release_id>/retry/", views.release_retry_view, name="retry"),
]
