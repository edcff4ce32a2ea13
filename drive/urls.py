from django.urls import path

from drive import views

app_name = "drive"
urlpatterns = [
    path("", views.home, name="home"),
    path("connect/", views.connect, name="connect"),
    path("inbox/", views.inbox_connect, name="inbox_connect"),
    path("folders/", views.folders, name="folders"),
    path("folders/choose/", views.folder_choose, name="folder_choose"),
    path("preset/", views.preset_choose, name="preset"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("poll/", views.poll_now, name="poll_now"),
]
