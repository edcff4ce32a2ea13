"""The site's URLs as they were before the engine added `generations:create`,
to check the run form's fallback."""

from django.urls import URLResolver, include, path

from creator_site import urls as site_urls
from generations import urls as generation_urls

_generation_patterns = [p for p in generation_urls.urlpatterns if p.name != "create"]

urlpatterns = [
    path("jobs/", include((_generation_patterns, "generations")))
    if isinstance(p, URLResolver) and p.namespace == "generations"
    else p
    for p in site_urls.urlpatterns
]
