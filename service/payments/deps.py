"""Request dependencies of the money domains: the app's payment provider."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from service.payments.provider import PaymentProvider, get_provider


def app_provider(state: Any) -> PaymentProvider:
    """One provider per app (it caches its index setup)."""
    provider = getattr(state, "payment_provider", None)
    if provider is None:
        provider = state.payment_provider = get_provider(state.settings)
    return provider


async def provider_dep(request: Request) -> PaymentProvider:
    return app_provider(request.app.state)


ProviderDep = Annotated[PaymentProvider, Depends(provider_dep)]
