"""The OneRoster 1.2 CSV binding: the files Pathwise reads, their columns in the binding's
order, which are required, and each column's type.

Types: ``id`` (a sourcedId, non-empty text), ``ids`` (comma-separated sourcedIds), ``text``,
``texts`` (comma-separated), ``enum:<name>`` (a value of :data:`ENUMS` or an ``ext:``
extension), ``date`` (``YYYY-MM-DD``), ``datetime`` (ISO 8601 UTC,
``YYYY-MM-DDTHH:MM:SS[.sss]Z``), ``bool`` (``true``/``false``), ``year`` (``YYYY``),
``grades`` (comma-separated CEDS grade codes), ``userids`` (``{type:identifier}`` list).
``status`` and ``dateLastModified`` are blank in bulk files and required in delta files.
"""

from __future__ import annotations

HEAD = (("sourcedId", "id", True), ("status", "enum:status", False),
        ("dateLastModified", "datetime", False))

# file -> ((column, type, required), ...) after the three HEAD columns, in the binding's order
FILES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "academicSessions": (
        ("title", "text", True), ("type", "enum:sessionType", True), ("startDate", "date", True),
        ("endDate", "date", True), ("parentSourcedId", "id", False), ("schoolYear", "year", True),
    ),
    "orgs": (
        ("name", "text", True), ("type", "enum:orgType", True), ("identifier", "text", False),
        ("parentSourcedId", "id", False),
    ),
    "courses": (
        ("schoolYearSourcedId", "id", False), ("title", "text", True), ("courseCode", "text", False),
        ("grades", "grades", False), ("orgSourcedId", "id", True), ("subjects", "texts", False),
        ("subjectCodes", "texts", False),
    ),
    "classes": (
        ("title", "text", True), ("grades", "grades", False), ("courseSourcedId", "id", True),
        ("classCode", "text", False), ("classType", "enum:classType", True),
        ("location", "text", False), ("schoolSourcedId", "id", True),
        ("termSourcedIds", "ids", True), ("subjects", "texts", False),
        ("subjectCodes", "texts", False), ("periods", "texts", False),
    ),
    "users": (
        ("enabledUser", "bool", True), ("username", "text", True), ("userIds", "userids", False),
        ("givenName", "text", True), ("familyName", "text", True), ("middleName", "text", False),
        ("identifier", "text", False), ("email", "text", False), ("sms", "text", False),
        ("phone", "text", False), ("agentSourcedIds", "ids", False), ("grades", "grades", False),
        ("password", "text", False), ("userMasterIdentifier", "text", False),
        ("resourceSourcedIds", "ids", False), ("preferredGivenName", "text", False),
        ("preferredMiddleName", "text", False), ("preferredFamilyName", "text", False),
        ("primaryOrgSourcedId", "id", False), ("pronouns", "text", False),
    ),
    "roles": (
        ("userSourcedId", "id", True), ("roleType", "enum:roleType", True),
        ("role", "enum:role", True), ("beginDate", "date", False), ("endDate", "date", False),
        ("orgSourcedId", "id", True), ("userProfileSourcedId", "id", False),
    ),
    "enrollments": (
        ("classSourcedId", "id", True), ("schoolSourcedId", "id", True),
        ("userSourcedId", "id", True), ("role", "enum:enrollmentRole", True),
        ("primary", "bool", False), ("beginDate", "date", False), ("endDate", "date", False),
    ),
    "demographics": (
        ("birthDate", "date", False), ("sex", "enum:sex", False),
        ("americanIndianOrAlaskaNative", "bool", False), ("asian", "bool", False),
        ("blackOrAfricanAmerican", "bool", False),
        ("nativeHawaiianOrOtherPacificIslander", "bool", False), ("white", "bool", False),
        ("demographicRaceTwoOrMoreRaces", "bool", False),
        ("hispanicOrLatinoEthnicity", "bool", False), ("countryOfBirthCode", "text", False),
        ("stateOfBirthAbbreviation", "text", False), ("cityOfBirth", "text", False),
        ("publicSchoolResidenceStatus", "text", False),
    ),
    "userProfiles": (
        ("userSourcedId", "id", True), ("profileType", "text", True), ("vendorId", "text", True),
        ("applicationId", "text", False), ("description", "text", False),
        ("credentialType", "text", True), ("username", "text", True), ("password", "text", False),
    ),
}

# Files of the 1.2 CSV binding that Pathwise does not read (gradebook and resources): a set
# may carry them; they are reported as ignored.
OTHER_FILES = ("categories", "classResources", "courseResources", "lineItems",
               "lineItemLearningObjectiveIds", "lineItemScoreScales", "resources", "results",
               "resultLearningObjectiveIds", "resultScoreScales", "scoreScales", "userResources")

ENUMS: dict[str, tuple[str, ...]] = {
    "status": ("active", "tobedeleted"),
    "sessionType": ("gradingPeriod", "semester", "schoolYear", "term"),
    "orgType": ("department", "school", "district", "local", "state", "national"),
    "classType": ("homeroom", "scheduled"),
    "roleType": ("primary", "secondary"),
    "role": ("aide", "counselor", "districtAdministrator", "guardian", "parent", "principal",
             "proctor", "relative", "siteAdministrator", "student", "systemAdministrator",
             "teacher"),
    "enrollmentRole": ("administrator", "proctor", "student", "teacher"),
    "sex": ("male", "female", "unspecified", "other"),
}

# CEDS grade levels (the binding's grades vocabulary)
GRADES = ("IT", "PR", "PK", "TK", "KG", *(f"{g:02d}" for g in range(1, 14)), "PS", "UG", "Other")

MANIFEST_VERSION = "1.0"
ONEROSTER_VERSION = "1.2"
MODES = ("absent", "bulk", "delta")


def columns(file: str) -> tuple[str, ...]:
    """Every column of ``file`` (``"users"``) in the binding's order."""
    return tuple(name for name, _, _ in HEAD + FILES[file])


def grade_label(code: str) -> str:
    """Pathwise's grade label of a CEDS code: ``"03"`` -> ``"3"``, ``"KG"`` -> ``"K"``."""
    if code.isdigit():
        return str(int(code))
    return {"KG": "K"}.get(code, code)
