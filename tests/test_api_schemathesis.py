"""Property-based run of schemathesis against /openapi.json.

For every operation of the API and the feeds, schemathesis generates valid requests (the
answers must match their documented status codes, media type and schema) and invalid ones
(malformed parameters and bodies: the answer must still be no 5xx). Authenticated as a real
user with rate limits off, so that writes get past the token check. Bounded to a few
examples per operation to stay within a minute or two per database.

(schemathesis' own pytest plugin does not run on this pytest; the operations are driven
with Hypothesis directly, which is what the plugin does too.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.corpus("api")


EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_schema_conformance,
    ],
    GenerationMode.NEGATIVE: [not_a_server_error, content_type_conformance],
}
PROGRAM_PATHS = r"^/(api|feeds)/|\.md$"


def exercise(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    """Run one operation's generated cases; raises the first failing check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS[mode])

    run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid-requests", "invalid-requests"])
def test_api_never_fails_and_keeps_its_contract(site, api_user, mode):
    site.app.state.limiter.enabled = False
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app).include(
        path_regex=PROGRAM_PATHS
    )
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        exercise(operation, mode, api_user.auth)
    assert len(labels) >= 20, labels
