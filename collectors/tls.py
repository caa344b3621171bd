"""One TLS context for every client of the process, not one each.

aiobotocore's HTTP session builds its SSL context (loading the whole CA bundle, about 0.8 MB
resident) when a client sends its first request, once per client; an organisation has a client
per account, region and service, a thousand at 50 accounts in 3 regions. The contexts of the
same verification settings are alike, and an `ssl.SSLContext` is made to be shared by many
connections, so the first one built is kept and handed to every later client that asks alike.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from aiobotocore.httpsession import AIOHTTPSession


class SharedTlsSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's aiohttp session, its TLS contexts shared by verification settings."""

    _contexts: ClassVar[dict[tuple[Any, ...], tuple[Any, Any]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()  # built in worker threads (aiobotocore)

    def _build_ssl_contexts(self, proxy_url: str | None) -> tuple[Any, Any]:
        # Everything the contexts are built from: the CA bundle (or none), the client
        # certificate, and the proxy's own TLS settings when there is a proxy.
        proxy = (proxy_url, repr(sorted(self._proxy_config.settings.items()))
                 ) if proxy_url else None
        key = (repr(self._verify), self._cert_file, self._key_file, proxy)
        with self._lock:
            contexts = self._contexts.get(key)
            if contexts is None:
                contexts = super()._build_ssl_contexts(proxy_url)
                self._contexts[key] = contexts
        return contexts
