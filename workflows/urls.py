from django.urls import path

from workflows import views

app_name = "workflows"
urlpatterns = [
    path("", views.workflow_list, name="list"),
    path("new/", views.workflow_create, name="create"),
    path("<uuid:workflow_id>/", views.workflow_detail, name="detail"),
    path("<uuid:workflow_id>/edit/", views.workflow_edit, name="edit"),
    path("<uuid:workflow_id>/parameters/", views.workflow_parameters, name="parameters"),
    path("<uuid:workflow_id>/fork/", views.workflow_fork, name="fork"),
    path("<uuid:workflow_id>/delete/", views.workflow_delete, name="delete"),
    path("<uuid:workflow_id>/run/", views.workflow_run, name="run"),
    path("<uuid:workflow_id>/versions/<int:number>/", views.workflow_version, name="version"),
    # Unlisted sharing: reachable only through the unguessable public slug.
    path("s/<str:public_slug>/", views.workflow_shared, name="shared"),
    path("s/<str:public_slug>/fork/", views.workflow_fork_shared, name="fork_shared"),
    # Projects live in this app (SPEC §4).
    path("projects/", views.project_list, name="project_list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<uuid:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<uuid:project_id>/edit/", views.project_edit, name="project_edit"),
    path("projects/<uuid:project_id>/archive/", views.project_archive, name="project_archive"),
    path("projects/<uuid:project_id>/restore/", views.project_restore, name="project_restore"),
    path("projects/<uuid:project_id>/share/", views.project_share, name="project_share"),
    path("projects/<uuid:project_id>/unshare/", views.project_unshare, name="project_unshare"),
    # Public read-only page of a shared project (no login).
    path("p/<str:share_slug>/", views.project_shared, name="project_shared"),
]
