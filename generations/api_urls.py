from django.urls import path

from generations import api

urlpatterns = [
    path("jobs", api.JobListCreateView.as_view(), name="api-jobs"),
    path("jobs/<uuid:job_id>", api.JobDetailView.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/cancel", api.JobCancelView.as_view(), name="api-job-cancel"),
    path("generate", api.GenerateView.as_view(), name="api-generate"),
    path("uploads", api.UploadCreateView.as_view(), name="api-uploads"),
]
