from __future__ import annotations

import pytest

from documents import Role
from service.accounts.service import set_roles
from tests.conftest import Account, MakeUser


@pytest.fixture
async def admin(make_user: MakeUser) -> Account:
    account = await make_user(["guest"])
    await set_roles(account.id, [Role.guest, Role.admin], actor_id="test")
    return account
