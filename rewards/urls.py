from django.urls import path

from rewards import views

app_name = "rewards"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("statement.csv", views.statement, name="statement"),
    path("payouts/", views.payout_request, name="payout_request"),
    path("payouts/<uuid:payout_id>/", views.payout_detail, name="payout_detail"),
    path("payouts/approved.csv", views.approved_payouts_export, name="approved_payouts_export"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/opt-in/", views.leaderboard_opt_in, name="leaderboard_opt_in"),
]
