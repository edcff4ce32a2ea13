from django.urls import path

from accounts import views

urlpatterns = [
    path("onboarding/", views.onboarding, name="onboarding"),
    path("settings/", views.settings_profile, name="settings"),
    path("settings/notifications/", views.settings_notifications, name="settings_notifications"),
    path(
        "settings/notifications/rotate-secret/",
        views.settings_rotate_webhook_secret,
        name="settings_rotate_webhook_secret",
    ),
    path("settings/api-keys/", views.settings_api_keys, name="settings_api_keys"),
    path(
        "settings/api-keys/quickstart/",
        views.settings_api_quickstart,
        name="settings_api_quickstart",
    ),
    path(
        "settings/api-keys/<uuid:key_id>/revoke/",
        views.settings_api_key_revoke,
        name="settings_api_key_revoke",
    ),
    path("settings/danger/", views.settings_danger, name="settings_danger"),
    path("settings/danger/export/", views.settings_export, name="settings_export"),
    path("settings/danger/delete/", views.settings_delete_account, name="settings_delete_account"),
]
