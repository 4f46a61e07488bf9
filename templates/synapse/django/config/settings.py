"""{{title}} settings. The proxy strips the prefix; FORCE_SCRIPT_NAME only shapes the URLs
Django generates (redirects, static files)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ROOT_PATH = os.environ.get("SYNAPSE_APP_ROOT_PATH", "")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
DEBUG = False
# localhost: the proxy rewrites Host; synapse-app-{{slug}}: the health probe's Host.
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "synapse-app-{{slug}}"]
CSRF_TRUSTED_ORIGINS = ["http://localhost:3000"]
X_FRAME_OPTIONS = "SAMEORIGIN"

INSTALLED_APPS = ["django.contrib.staticfiles", "web"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {}

FORCE_SCRIPT_NAME = ROOT_PATH or None
STATIC_URL = f"{ROOT_PATH}/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
USE_TZ = True
