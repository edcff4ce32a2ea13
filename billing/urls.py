from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.billing_page, name="overview"),
    path("pricing/", views.pricing, name="pricing"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("credits/<int:pack_id>/buy/", views.buy_credits, name="buy_credits"),
    path("portal/", views.portal, name="portal"),
    path("checkout/success/", views.checkout_success, name="checkout_success"),
]
