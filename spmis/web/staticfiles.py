"""Are the static files ready to be served as the settings say?

Under the base settings whitenoise serves them straight from the apps: nothing to prepare.
Under production settings the storage is a manifest storage (whitenoise's
``CompressedManifestStaticFilesStorage``): every ``{% static %}`` looks its file up in the
manifest that ``spmis collectstatic`` writes into ``STATIC_ROOT``, and a file missing from it
is an error on every page that uses it. ``spmis serve`` asks here first and refuses to start.
"""

from __future__ import annotations

import os

IGNORED = ["CVS", ".*", "*~"]  # collectstatic's default ignore patterns


def static_files_problem() -> str | None:
    """Why the configured static files cannot be served, or ``None`` when they can."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    collected, _ = staticfiles_storage.load_manifest()
    run = ("run `spmis collectstatic` with the same settings (DJANGO_SETTINGS_MODULE and "
           "SPMIS_HOME) before `spmis serve`, and again after every upgrade")
    if not collected:
        return (f"The static files are not collected into {settings.STATIC_ROOT}: {run}. "
                "Without them every page would fail with a server error.")
    wanted = {path.replace(os.sep, "/") for finder in finders.get_finders()
              for path, _storage in finder.list(IGNORED)}
    missing = sorted(wanted - set(collected))
    if missing:
        return (f"{len(missing)} static file(s) are not in the last collectstatic "
                f"(e.g. {missing[0]}): {run}.")
    return None
