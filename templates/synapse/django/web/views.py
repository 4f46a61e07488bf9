from django.http import JsonResponse
from django.shortcuts import render


def health(request):
    """The workspace's probe: 200, no database, no network, no auth."""
    return JsonResponse({"status": "ok"})


def index(request):
    return render(request, "index.html", {"title": "{{title}}"})
