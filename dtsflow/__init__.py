"""dtsflow: migration-as-code for Baidu AI Cloud DTS.

Kept import-free on purpose: `dtsflow --help` must not pay for pydantic, httpx or Jinja2.
"""

__version__ = "0.1.0"
