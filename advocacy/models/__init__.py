"""Typed SQLAlchemy models, one module per aggregate."""

from advocacy.models.base import Base, utcnow
from advocacy.models.campaign import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTarget,
    LetterTemplate,
    LetterTemplateVersion,
    Signature,
    Target,
    TargetKind,
)
from advocacy.models.directory import MemberOfParliament, PostcodeCacheEntry, SyncCheckpoint
from advocacy.models.figures import CampaignCount, Dimension
from advocacy.models.fingerprint import LetterFingerprint
from advocacy.models.letter import (
    LETTER_TRANSITIONS,
    IllegalTransition,
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    NotificationState,
    ProcessedEvent,
)
from advocacy.models.partner import ConsentWording, Partner, PartnerConsent
from advocacy.models.staff import (
    AuditEvent,
    StaffSession,
    StaffToken,
    StaffTokenPurpose,
    StaffUser,
    WorkspaceSetting,
)
from advocacy.models.worker_status import WorkerState, WorkerStatus

__all__ = [
    "LETTER_TRANSITIONS",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignCount",
    "CampaignKind",
    "CampaignStatus",
    "CampaignTarget",
    "ConsentWording",
    "Dimension",
    "IllegalTransition",
    "Letter",
    "LetterFingerprint",
    "LetterState",
    "LetterTemplate",
    "LetterTemplateVersion",
    "MemberOfParliament",
    "Notification",
    "NotificationKind",
    "NotificationState",
    "Partner",
    "PartnerConsent",
    "PostcodeCacheEntry",
    "ProcessedEvent",
    "Signature",
    "StaffSession",
    "StaffToken",
    "StaffTokenPurpose",
    "StaffUser",
    "SyncCheckpoint",
    "Target",
    "TargetKind",
    "WorkerState",
    "WorkerStatus",
    "WorkspaceSetting",
    "utcnow",
]
