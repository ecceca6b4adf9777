"""The second factor: time-based one-time passwords (RFC 6238) from an authenticator app.

A code is accepted for the current 30-second step or one step either side (clock drift), and
only once: a step at or before the last one used is refused as a replay.
"""

from __future__ import annotations

import hmac

import pyotp
from django.db import transaction

from spmis.access.auth import login_failure_record, login_failures_reset
from spmis.access.models import TOTPDevice, User
from spmis.audit.actions import AuditAction
from spmis.audit.services import audit_record
from spmis.core import clock

ISSUER = "spmis"
DRIFT_STEPS = 1


def mfa_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The user's unconfirmed device, created with a fresh secret on first call."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32(length=32)}
    )
    return device


def mfa_has_device(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def mfa_provisioning_uri(*, device: TOTPDevice) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.get_username(), issuer_name=ISSUER
    )


def _accept(device: TOTPDevice, code: str) -> int | None:
    """The time-step ``code`` belongs to, if it is valid and not yet used; else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):  # "²" is a digit to Python
        return None
    totp = pyotp.TOTP(device.secret)
    now_step = totp.timecode(clock.now())
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if step <= device.last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Claim the step atomically: two requests racing with one code cannot both win.
            claimed = TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
                last_used_step=step
            )
            return step if claimed else None
    return None


def mfa_enrol_confirm(*, user: User, code: str) -> bool:
    """Confirm the device being enrolled with its first code. Audited as mfa.enrol."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.confirmed_at is not None:
            return False
        step = _accept(device, code)
        if step is None:
            _failed(user, stage="enrol")
            return False
        device.confirmed_at = clock.now()
        device.save(update_fields=["confirmed_at"])
        login_failures_reset(user)
        audit_record(actor=user, action=AuditAction.MFA_ENROL,
                     object_type="user", object_id=user.pk)
    return True


def mfa_verify(*, user: User, code: str) -> bool:
    """Check a code from the user's confirmed device. Audited as mfa.verify or mfa.failed."""
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update()
                  .filter(user=user, confirmed_at__isnull=False).first())
        if device is None:
            return False
        if _accept(device, code) is None:
            _failed(user, stage="verify")
            return False
        login_failures_reset(user)
        audit_record(actor=user, action=AuditAction.MFA_VERIFY,
                     object_type="user", object_id=user.pk)
    return True


def _failed(user: User, *, stage: str) -> None:
    audit_record(actor=user, action=AuditAction.MFA_FAILED, object_type="user", object_id=user.pk,
                 detail={"stage": stage})
    login_failure_record(username=user.get_username())
