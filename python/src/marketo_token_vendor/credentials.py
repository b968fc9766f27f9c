"""Who signs the requests to the vendor: static credentials, any botocore credentials, or the AWS default
credential chain."""

from __future__ import annotations

from dataclasses import dataclass

import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError

from .signed_call import CredentialsSource


@dataclass(frozen=True)
class AwsCredentials:
    """Static AWS credentials (local mode's key, or credentials you resolved yourself)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id!r})"


def credentials_source(credentials: AwsCredentials | Credentials | None) -> CredentialsSource:
    if isinstance(credentials, AwsCredentials):
        frozen = ReadOnlyCredentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        )
        return lambda: frozen
    if credentials is not None:
        provider: CredentialsSource = credentials.get_frozen_credentials
        return provider
    # The default chain (environment, profile, container or instance role; a Lambda's role), resolved on
    # first use and read per request, so temporary credentials refresh.
    resolved: list[Credentials] = []

    def from_chain() -> ReadOnlyCredentials:
        if not resolved:
            found = botocore.session.get_session().get_credentials()
            if found is None:
                raise NoCredentialsError()
            resolved.append(found)
        return resolved[0].get_frozen_credentials()

    return from_chain
