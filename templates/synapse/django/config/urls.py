from django.urls import path

from web import views

urlpatterns = [
    # Exactly the manifest's health path: no trailing slash, so APPEND_SLASH never redirects it.
    path("health", views.health),
    path("", views.index),
]
