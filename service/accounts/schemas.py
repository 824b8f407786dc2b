"""Accounts API shapes. Users never carry secrets out."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from confusable_homoglyphs import confusables
from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints, field_validator
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from documents import Role, User
from documents.values import StrictModel


def _canonical_email(value: str) -> str:
    """NFKC + casefold, so that fullwidth or differently cased spellings of one address are one
    account (the uniqueness check runs on this form)."""
    return unicodedata.normalize("NFKC", value).casefold()


def _unconfusable_email(value: str) -> str:
    value = _canonical_email(value)
    # Latin "a" and Cyrillic U+0430 look alike: an address mixing scripts, or with a character
    # that passes for another script's, would impersonate someone else's.
    if confusables.is_mixed_script(value) or confusables.is_dangerous(value):
        raise ValueError("mixes scripts or contains look-alike characters")
    return value


# The most common passwords (zxcvbn's list, 30 000 leaked passwords by frequency).
_COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])


def _acceptable_password(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    if value.casefold() in _COMMON_PASSWORDS or value.strip().casefold() in _COMMON_PASSWORDS:
        raise ValueError("is one of the most common passwords; choose another")
    return value


Password = Annotated[
    str, StringConstraints(min_length=8, max_length=256), AfterValidator(_acceptable_password)
]
NewEmail = Annotated[EmailStr, Field(max_length=254), AfterValidator(_unconfusable_email)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RegisterIn(StrictModel):
    email: NewEmail
    password: Password
    display_name: DisplayName
    roles: list[Role] = Field(default_factory=lambda: [Role.guest], min_length=1, max_length=2)

    @field_validator("roles")
    @classmethod
    def _self_service_roles(cls, v: list[Role]) -> list[Role]:
        # Admin is granted by operators, never self-assigned at sign-up.
        if Role.admin in v:
            raise ValueError("roles may only be guest and/or host")
        return sorted(set(v), key=lambda r: r.value)


class LoginIn(StrictModel):
    email: Annotated[EmailStr, Field(max_length=254), AfterValidator(_canonical_email)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[Role]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=str(user.id),
            email=user.email,
            display_name=user.display_name,
            roles=user.roles,
            created_at=user.created_at,
        )


class LoginOut(BaseModel):
    token: str
    user: UserOut
