"""Encryption of stored secrets with Fernet, and the credential vault."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine

from servicesync.errors import StoreError
from servicesync.logs import register_secrets
from servicesync.store._dialect import table_of, upsert
from servicesync.store._tables import CredentialRow

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "SQLCredentialVault", "SecretBox"]

logger = logging.getLogger(__name__)

#: The environment variable holding the Fernet key that encrypts secrets.
KEY_ENV = "SERVICESYNC_SECRET_KEY"
#: The environment variable naming a file that holds the key (for development).
KEY_FILE_ENV = "SERVICESYNC_SECRET_KEY_FILE"

_credentials = table_of(CredentialRow)


class SecretBox:
    """Encrypts and decrypts secrets with a key found when first needed.

    The key comes from, in order: the ``key`` argument, ``$SERVICESYNC_SECRET_KEY``,
    the ``key_file`` argument, the file named by ``$SERVICESYNC_SECRET_KEY_FILE``.
    """

    def __init__(self, key: str | None = None, key_file: Path | None = None) -> None:
        self._key = key
        self._key_file = key_file
        self._fernet: Fernet | None = None

    def encrypt(self, value: str) -> str:
        """Return ``value`` encrypted, as text."""
        return self._cipher().encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the clear text of a token made by :meth:`encrypt`."""
        try:
            return self._cipher().decrypt(token.encode()).decode()
        except InvalidToken as exc:
            msg = (
                "A stored secret cannot be decrypted with the configured key; "
                f"was ${KEY_ENV} changed since it was stored?"
            )
            raise StoreError(msg) from exc

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._load_key())
        return self._fernet

    def _load_key(self) -> bytes:
        key = self._key or os.environ.get(KEY_ENV)
        if not key:
            path = self._key_file or _env_path(KEY_FILE_ENV)
            if path is not None:
                key = _read_key_file(path)
        if not key:
            msg = (
                f"No key to encrypt secrets with: set ${KEY_ENV} to a Fernet key "
                f"(or ${KEY_FILE_ENV} to a file holding one). Make one with: "
                'python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
            raise StoreError(msg)
        try:
            Fernet(key.encode())
        except ValueError as exc:
            msg = f"The secret key in ${KEY_ENV} is not a valid Fernet key."
            raise StoreError(msg) from exc
        return key.encode()


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        msg = f"The secret key file {str(path)!r} cannot be read: {exc.strerror}."
        raise StoreError(msg) from exc


class SQLCredentialVault:
    """The :class:`~servicesync.contract.CredentialVault` of one connection."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        connection: str,
        now: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._box = box
        self._connection = connection
        self._now = now

    def get(self, name: str) -> str | None:
        """Return the secret stored under ``name``, decrypted, or ``None``."""
        query = sa.select(_credentials.c.ciphertext).where(
            _credentials.c.connection == self._connection, _credentials.c.name == name
        )
        with self._engine.begin() as connection:
            token = connection.execute(query).scalar_one_or_none()
        if token is None:
            return None
        value = self._box.decrypt(token)
        register_secrets(value)
        return value

    def put(self, name: str, value: str) -> None:
        """Encrypt ``value`` and store it under ``name``, committed on return.

        The value is masked in every log record from now on, as is any value
        :meth:`get` returns: a rotated token is a secret the config never saw.
        """
        register_secrets(value)
        row = {
            "connection": self._connection,
            "name": name,
            "ciphertext": self._box.encrypt(value),
            "updated_at": self._now(),
        }
        with self._engine.begin() as connection:
            upsert(connection, _credentials, [row], ["connection", "name"])
        logger.debug("Stored the secret %r of %r.", name, self._connection)
