from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def onboarding(request):
    return render(request, "accounts/onboarding.html")


@login_required
def settings_profile(request):
    return render(request, "accounts/settings.html")
