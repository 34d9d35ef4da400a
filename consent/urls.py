from django.urls import path

from consent import views

app_name = "consent"
urlpatterns = [
    path("", views.consent_form, name="form"),
    path("history/", views.consent_history, name="history"),
    path("changes/", views.consent_changes, name="changes"),
    path("withdraw/", views.consent_withdraw_all, name="withdraw_all"),
    path("documents/<int:version>/", views.consent_document, name="document"),
    path("receipts/<uuid:event_id>/", views.consent_receipt, name="receipt"),
    path("receipts/<uuid:event_id>.json", views.consent_receipt_json, name="receipt_json"),
]
