"""Journeys as code: a journey as a readable JSON or YAML document, and back.

The document names everything outside the journey by a stable key a person can read and another
Waymark can resolve — emails by key, segments, sales queues and webhook endpoints by name, users by
username, triggers by key — never by database id. `export_journey` writes it, `diff` says what
importing it would change, `import_journey` checks it (every problem with its path, like
`tiles.send_guide.email: no email with key 'x'`) and creates or updates a draft journey.
The same functions serve the API, the admin and the `export_journey` / `import_journey` commands.
"""

from journeys.portable.diff import diff
from journeys.portable.document import FORMAT, GOVERNANCE, DocumentError, dumps, loads, normalize
from journeys.portable.exporting import export_journey
from journeys.portable.importing import ImportResult, import_journey

__all__ = ["FORMAT", "GOVERNANCE", "DocumentError", "ImportResult", "diff", "dumps", "export_journey",
           "import_journey", "loads", "normalize"]
