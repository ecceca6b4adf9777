"""Helpers shared by test modules: constants and logging a user in through the pages.

Test modules import from here (or from ``tests.factories``), never from one another.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyotp
from django.test import Client

from spmis.access.models import TOTPDevice, User
from spmis.core import clock

AS_OF = dt.date(2026, 6, 30)
PERIOD = dt.date(2026, 6, 1)  # the month the hand-made ``small`` country is paid for
PASSWORD = "correct-horse-battery-staple"


def mfa_code(user: User) -> str:
    """A real code from the user's authenticator app: the current time-step's, or the next
    one's (allowed drift) when the current code was already used."""
    device = TOTPDevice.objects.get(user=user)
    totp = pyotp.TOTP(device.secret)
    return totp.generate_otp(max(totp.timecode(clock.now()), device.last_used_step + 1))


def logged_in(user: User) -> Client:
    """Password, then (staff) the second factor, enrolling the authenticator if needed."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get("/")
    if response.status_code == 302 and response["Location"].startswith("/login/"):
        step = client.get(response["Location"])  # the enrolment page creates the device
        assert step.status_code == 200
        done = client.post(response["Location"].split("?")[0], {"code": mfa_code(user)})
        assert done.status_code == 302, done.content.decode()
    return client


def cell(frame: pl.DataFrame, indicator: str, area_code: str = "XY", sex: str = "_T",
         age_band: str = "_T", disability: str = "_T", scheme: str = "_T") -> dict:
    """The one row of an indicator run's values (a frame) for these dimensions."""
    rows = frame.filter(indicator=indicator, area_code=area_code, sex=sex, age_band=age_band,
                        disability=disability, scheme=scheme)
    assert rows.height == 1, (indicator, area_code, sex, age_band, disability, scheme, rows)
    return rows.row(0, named=True)
