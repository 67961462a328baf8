"""``python -m servicesync_sdk.fakes PLUGIN``: serve a fake without the core CLI."""

from __future__ import annotations

from servicesync_sdk._commands import main

if __name__ == "__main__":
    main()
