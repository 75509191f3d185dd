import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.warm import warm_up  # noqa: E402 (needs the settings configured above)

warm_up()  # each web process imports its views now, not on its first request
