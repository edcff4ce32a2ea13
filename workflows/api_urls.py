from django.urls import path

from workflows import api

urlpatterns = [
    path("workflows", api.WorkflowListView.as_view(), name="api-workflows"),
    path(
        "workflows/<str:id_or_slug>", api.WorkflowDetailView.as_view(), name="api-workflow-detail"
    ),
]
