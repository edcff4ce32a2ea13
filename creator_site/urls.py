from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from django.views.generic import TemplateView

from billing import views as billing_views
from creator_site import views

urlpatterns = [
    path("", TemplateView.as_view(template_name="landing.html"), name="landing"),
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
    path("metrics", views.metrics, name="metrics"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("pricing/", billing_views.pricing, name="pricing"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    # Before allauth's: its Google views fail with a 500 when Google is not set up.
    path("accounts/google/", include("accounts.google_login")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("workflows/", include("workflows.urls")),
    path("jobs/", include("generations.urls")),
    path("drive/", include("drive.urls")),
    path("billing/", include("billing.urls")),
    path("api/v1/", include("creator_site.api_urls")),
    path("admin/operations/", staff_member_required(views.operations), name="operations"),
    path("admin/", admin.site.urls),
]

# No /media/ route, not even with DEBUG: stored files are users' images, reached
# only through signed, expiring links (generations.files.asset_url).
