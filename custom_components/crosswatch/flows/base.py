"""What every account flow shares: finishing an entry, reauth checks, the code sign-in."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    QrCodeSelector,
    QrCodeSelectorConfig,
    QrErrorCorrectionLevel,
)
import voluptuous as vol

from ..const import CONF_ACCOUNT_ID, CONF_BASE_URL, CONF_KIND, Kind
from ..engine.provider import AuthError
from ..errors import as_provider_error, form_error

ADVANCED = "advanced"


def advanced_section(default_url: str | None = None) -> dict[Any, Any]:
    """A collapsed section for the base URL (tests and the demo point it at simulators)."""
    field = (
        vol.Optional(CONF_BASE_URL, default=default_url)
        if default_url
        else vol.Optional(CONF_BASE_URL)
    )
    return {vol.Optional(ADVANCED): section(form({field: str}), {"collapsed": True})}


def form(fields: dict[Any, Any]) -> Any:
    """A form's schema.

    Typed Any: Home Assistant swaps voluptuous for probatio between the releases we support,
    and each release's stubs accept only its own schema class.
    """
    return vol.Schema(fields)


def base_url(user_input: dict[str, Any], default: str) -> str:
    """The base URL from the advanced section, or the service's own."""
    url = str((user_input.get(ADVANCED) or {}).get(CONF_BASE_URL) or default)
    return url.rstrip("/")


class AccountFlow(ConfigFlow):
    """Shared steps of the account flows (a mixin of the CrossWatch config flow)."""

    async def async_finish_account(
        self, kind: Kind, account_id: str, title: str, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Create the account entry, or update it on reauth or reconfigure.

        The unique id is the service plus the account's stable id: the same account cannot
        be added twice, and reauth must sign in to the same account.
        """
        await self.async_set_unique_id(f"{kind.value}:{account_id}")
        full = {**data, CONF_KIND: kind.value, CONF_ACCOUNT_ID: account_id}
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reauth_entry(), data=full)
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=full)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=title, data=full)


@dataclass(slots=True)
class CodeSignIn:
    """A sign-in by code (Trakt and SIMKL device codes, Plex PIN) whose poll runs already."""

    url: str  # where the user enters the code
    code: str
    task: asyncio.Task[Any]  # the background poll; its result is the credential


class CodeSignInFlow(AccountFlow):
    """Show a code with its URL and QR code, wait for the background poll, offer a retry.

    A flow signs in to one account of one service, so it holds one sign-in at a time. The
    steps themselves come from `code_sign_in_steps`, once per service.
    """

    _code_sign_in: CodeSignIn | None = None

    @property
    def sign_in(self) -> CodeSignIn:
        """The code sign-in under way (the steps after the request have one)."""
        assert self._code_sign_in is not None
        return self._code_sign_in

    def start_sign_in(self, url: str, code: str, poll: Coroutine[Any, Any, Any]) -> CodeSignIn:
        """Start the background poll of a new code (cancelling any earlier one)."""
        self.async_remove()
        task = self.hass.async_create_background_task(poll, f"crosswatch sign-in {self.flow_id}")
        self._code_sign_in = CodeSignIn(url, code, task)
        return self._code_sign_in

    @callback
    def async_remove(self) -> None:
        """The flow ends or is abandoned: stop polling for a code nobody will enter."""
        if self._code_sign_in is not None and not self._code_sign_in.task.done():
            self._code_sign_in.task.cancel()

    def confirm_reauth(self, step_id: str) -> ConfigFlowResult:
        """Ask before asking the service for a code: reauth flows start unattended."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=form({}),
            description_placeholders={"account": self._get_reauth_entry().title},
        )

    def show_code(self, step_id: str, sign_in: CodeSignIn) -> ConfigFlowResult:
        """The code, the URL and a QR code of the URL; Submit goes on to the wait."""
        schema = form(
            {
                vol.Optional("qr_code"): QrCodeSelector(
                    QrCodeSelectorConfig(
                        data=sign_in.url,
                        scale=6,
                        error_correction_level=QrErrorCorrectionLevel.QUARTILE,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            description_placeholders={"url": sign_in.url, "code": sign_in.code},
        )

    def wait_for_code(
        self,
        step_id: str,
        sign_in: CodeSignIn,
        *,
        finish_step: str,
        retry_step: str,
    ) -> ConfigFlowResult:
        """Progress until the poll ends; then the finish step, or the retry step."""
        if not sign_in.task.done():
            return self.async_show_progress(
                step_id=step_id,
                progress_action=f"wait_for_{step_id.removesuffix('_wait')}",
                description_placeholders={"url": sign_in.url, "code": sign_in.code},
                progress_task=sign_in.task,
            )
        if sign_in.task.exception() is None:
            return self.async_show_progress_done(next_step_id=finish_step)
        return self.async_show_progress_done(next_step_id=retry_step)

    def show_retry(self, step_id: str, error: str) -> ConfigFlowResult:
        """Say why the sign-in did not finish; Submit asks for a new code."""
        return self.async_show_form(step_id=step_id, data_schema=form({}), errors={"base": error})


def sign_in_error(error: BaseException | None) -> str:
    """The form error for a sign-in poll that ended without a credential."""
    if error is None:
        return "unknown"
    if isinstance(as_provider_error(error), AuthError):
        return "code_expired"
    return form_error(error)


type FlowStep[FlowT] = Callable[
    [FlowT, dict[str, Any] | None], Coroutine[Any, Any, ConfigFlowResult]
]


def code_sign_in_steps[FlowT: CodeSignInFlow](
    prefix: str,
    *,
    request_code: Callable[[FlowT], Awaitable[str | None]],
    finish_step: str,
    failure_error: Callable[[BaseException | None], str] = sign_in_error,
) -> tuple[FlowStep[FlowT], FlowStep[FlowT], FlowStep[FlowT]]:
    """The three steps of one service's code sign-in: `<prefix>_code`, `_wait` and `_retry`.

    Assign them in the service's flow class, as `async_step_<prefix>_code` and so on:
    - code: the code, its URL and a QR code; Submit goes on to the wait;
    - wait: progress until the background poll ends, then `finish_step`, or the retry;
    - retry: why the poll ended without a credential (`failure_error`); Submit asks for a
      new code. `request_code` asks the service for one and starts its poll (`start_sign_in`),
      returning a form error when it cannot.
    """
    code_step, wait_step, retry_step = f"{prefix}_code", f"{prefix}_wait", f"{prefix}_retry"

    async def show_code(flow: FlowT, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the code; the poll already runs in the background."""
        if user_input is not None:
            return await wait(flow)
        return flow.show_code(code_step, flow.sign_in)

    async def wait(flow: FlowT, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wait for the background poll to end: a credential, or a reason to start over."""
        return flow.wait_for_code(
            wait_step, flow.sign_in, finish_step=finish_step, retry_step=retry_step
        )

    async def retry(flow: FlowT, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Say why the sign-in did not finish; Submit asks for a new code."""
        if user_input is None:
            return flow.show_retry(retry_step, failure_error(flow.sign_in.task.exception()))
        error = await request_code(flow)
        if error is not None:
            return flow.show_retry(retry_step, error)
        return await show_code(flow)

    return show_code, wait, retry
