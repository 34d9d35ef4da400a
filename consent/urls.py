from django.urls import path

from consent import views

app_name = "consent"
urlpatterns = [
    path("", views.consent_form, name="form"),
    path("history/", views.consent_history, name="history"),
]
