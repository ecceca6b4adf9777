"""The shipped separation-of-duties rules. Countries may add rows; these are the ILO minimum."""

from django.db import migrations

DATA_ROLES = ["DATA_COLLECTOR", "REGISTRAR", "TARGETING_OFFICER", "APPROVER", "SCHEME_MANAGER",
              "PAYMENT_OFFICER", "GRIEVANCE_OFFICER", "APPEAL_REVIEWER", "STATISTICIAN"]
RULES = [
    ("REGISTRAR", "TARGETING_OFFICER",
     "Registration and targeting are separate functions (whoever registers a person cannot "
     "also target them)."),
    ("DATA_COLLECTOR", "REGISTRAR",
     "Data collection and data recording are separate functions."),
    ("GRIEVANCE_OFFICER", "APPEAL_REVIEWER",
     "Whoever decides a complaint cannot review its appeal."),
    ("SECURITY_ADMIN", "AUDITOR",
     "Whoever grants access cannot also be the one who audits it."),
] + [
    ("SECURITY_ADMIN", role,
     "A security administrator grants access and must hold no role over the data.")
    for role in DATA_ROLES
]


def seed(apps, schema_editor):
    rule = apps.get_model("access", "IncompatibleRoles")
    for role_a, role_b, reason in RULES:
        rule.objects.get_or_create(role_a=role_a, role_b=role_b, defaults={"reason": reason})


def unseed(apps, schema_editor):
    apps.get_model("access", "IncompatibleRoles").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("access", "0002_sod_approvals_clearance")]
    operations = [migrations.RunPython(seed, unseed)]
