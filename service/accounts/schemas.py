"""Accounts API shapes. Users never carry secrets out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints, field_validator

from documents import Role, User
from documents.values import StrictModel

Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RegisterIn(StrictModel):
    email: EmailStr = Field(max_length=254)
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
    email: EmailStr = Field(max_length=254)
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
