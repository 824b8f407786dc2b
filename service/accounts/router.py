"""POST /v1/auth/register|login|logout, GET /v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from service.accounts import service
from service.accounts.schemas import LoginIn, LoginOut, RegisterIn, UserOut
from service.core.deps import CurrentSession, CurrentUser, SessionsDep, SettingsDep
from service.core.errors import ProblemError, problem_responses, unauthorized
from service.core.ratelimit.bruteforce import LoginGuard

router = APIRouter(tags=["accounts"])


@router.post(
    "/v1/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=problem_responses(409, 422, 429),
)
async def register(body: RegisterIn, settings: SettingsDep, response: Response) -> UserOut:
    """201 with `Location: /v1/me`, where the account is read once logged in."""
    user = await service.register(settings, body)
    response.headers["Location"] = "/v1/me"
    return UserOut.of(user)


@router.post("/v1/auth/login", response_model=LoginOut, responses=problem_responses(401, 422, 429))
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    settings: SettingsDep,
    sessions: SessionsDep,
    current: CurrentSession,
) -> LoginOut:
    ip = request.client.host if request.client else "unknown"
    # Failure budgets per account and per IP; checked before the (slow) password hash.
    guard = LoginGuard(request.app.state.redis, settings)
    # A lock the right password may pass (account locked, this client clean) comes back.
    locked = await guard.ensure_allowed(body.email, ip)
    try:
        user = await service.authenticate(settings, body, ip=ip)
    except ProblemError as exc:
        if exc.status == 401:
            await guard.record_failure(body.email, ip)
            if locked is not None:
                raise locked from None
        raise
    if locked is None:  # a passed lock stays: the guesser's count is not wiped by the owner
        await guard.record_success(body.email)
    # Rotate: a session presented with the login (e.g. fixated cookie) does not survive it.
    if current is not None:
        await sessions.revoke(current)
    token = await sessions.create(str(user.id))
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="lax",
        path="/",
    )
    return LoginOut(token=token, user=UserOut.of(user))


@router.post(
    "/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401)
)
async def logout(settings: SettingsDep, sessions: SessionsDep, current: CurrentSession) -> Response:
    if current is None:
        raise unauthorized()
    await sessions.revoke(current)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(settings.session_cookie_name, path="/")
    return response


@router.post(
    "/v1/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401)
)
async def logout_all(user: CurrentUser, settings: SettingsDep, sessions: SessionsDep) -> Response:
    await sessions.revoke_all(str(user.id))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(settings.session_cookie_name, path="/")
    return response


@router.get("/v1/me", response_model=UserOut, responses=problem_responses(401))
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)
