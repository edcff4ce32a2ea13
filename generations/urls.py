from django.urls import path

from generations import views

app_name = "generations"
urlpatterns = [
    path("", views.generation_gallery, name="list"),
    path("new/", views.generation_create, name="create"),
    path("<uuid:generation_id>/", views.generation_detail, name="detail"),
    path("<uuid:generation_id>/progress/", views.generation_progress, name="progress"),
    path("<uuid:generation_id>/cancel/", views.generation_cancel, name="cancel"),
    path("<uuid:generation_id>/retry/", views.generation_retry, name="retry"),
    path("<uuid:generation_id>/annotate/", views.generation_annotate, name="annotate"),
    path("files/<str:token>/", views.asset_download, name="asset"),
]
