from django.urls import path

from donations import views

app_name = "donations"
urlpatterns = [
    path("donations/", views.dashboard, name="dashboard"),
    path("donations/upload/", views.donation_upload, name="upload"),
    path(
        "uploads/<uuid:session_id>/parts/<int:part_number>",
        views.upload_part,
        name="upload_part",
    ),
    path("donations/<uuid:donation_id>/", views.donation_detail, name="detail"),
    path("donations/<uuid:donation_id>/preview.svg", views.donation_preview, name="preview"),
    path(
        "donations/<uuid:donation_id>/preview.json",
        views.donation_preview_motion,
        name="preview_motion",
    ),
    path("donations/<uuid:donation_id>/withdraw/", views.donation_withdraw_view, name="withdraw"),
    path("curate/", views.curation_queue, name="curation_queue"),
    path("curate/donations/<uuid:donation_id>/review/", views.curation_review, name="review"),
    path("curate/donations/review/", views.curation_bulk_review, name="bulk_review"),
    path(
        "curate/donations/<uuid:donation_id>/preview.json",
        views.curation_preview_motion,
        name="curation_preview_motion",
    ),
]
