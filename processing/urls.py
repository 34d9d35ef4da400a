from django.urls import path

from processing import views

app_name = "processing"
urlpatterns = [
    path("formats/", views.formats, name="formats"),
    path("formats/pose-stream.schema.json", views.pose_stream_schema, name="pose_stream_schema"),
]
