"""Typed SQLAlchemy models, one module per aggregate."""

from advocacy.models.base import Base, utcnow
from advocacy.models.bundle import BUNDLE_TRANSITIONS, BundleState, DeliveryBundle
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
from advocacy.models.event import EventLetter, LetterEvent
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
from advocacy.models.nomination import Nomination, NominationState
from advocacy.models.partner import ConsentWording, Partner, PartnerConsent
from advocacy.models.pledge import PledgeVersion
from advocacy.models.response import (
    LetterReply,
    QuestionKind,
    ReplyAnswer,
    ReplyQuestionnaire,
    Usefulness,
)
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
    "BUNDLE_TRANSITIONS",
    "LETTER_TRANSITIONS",
    "AuditEvent",
    "Base",
    "BundleState",
    "Campaign",
    "CampaignCount",
    "CampaignKind",
    "CampaignStatus",
    "CampaignTarget",
    "ConsentWording",
    "DeliveryBundle",
    "Dimension",
    "EventLetter",
    "IllegalTransition",
    "Letter",
    "LetterEvent",
    "LetterFingerprint",
    "LetterReply",
    "LetterState",
    "LetterTemplate",
    "LetterTemplateVersion",
    "MemberOfParliament",
    "Nomination",
    "NominationState",
    "Notification",
    "NotificationKind",
    "NotificationState",
    "Partner",
    "PartnerConsent",
    "PledgeVersion",
    "PostcodeCacheEntry",
    "ProcessedEvent",
    "QuestionKind",
    "ReplyAnswer",
    "ReplyQuestionnaire",
    "Signature",
    "StaffSession",
    "StaffToken",
    "StaffTokenPurpose",
    "StaffUser",
    "SyncCheckpoint",
    "Target",
    "TargetKind",
    "Usefulness",
    "WorkerState",
    "WorkerStatus",
    "WorkspaceSetting",
    "utcnow",
]
